// The C peer for the HTTP benchmark: the same logic as Sources/HTTPBenchServer (a 13-byte body at /,
// 1 MiB at /big, keep-alive, http_parser on libuv), so the Swift server is compared with C in one run.
// Build: gcc -O2 -o server server.c -luv -lhttp_parser
#include <http_parser.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BIG (1 << 20)
static char small_response[256];
static char big_head[256];
static char *big_body;
static http_parser_settings settings;

typedef struct {
    uv_tcp_t tcp;
    http_parser parser;
    int wants_big;
} conn_t;

static char read_buffer[65536];

static void on_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) { *buf = uv_buf_init(read_buffer, sizeof read_buffer); }
static void on_close(uv_handle_t *h) { free(h); }
static void on_write(uv_write_t *req, int status) { free(req); }

static int on_url(http_parser *p, const char *at, size_t n) {
    ((conn_t *)p->data)->wants_big = n >= 4 && memcmp(at, "/big", 4) == 0;
    return 0;
}

static int on_complete(http_parser *p) {
    conn_t *c = p->data;
    uv_write_t *req = malloc(sizeof *req);
    if (c->wants_big) {
        uv_buf_t bufs[2] = {uv_buf_init(big_head, strlen(big_head)), uv_buf_init(big_body, BIG)};
        uv_write(req, (uv_stream_t *)&c->tcp, bufs, 2, on_write);
    } else {
        uv_buf_t buf = uv_buf_init(small_response, strlen(small_response));
        uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    }
    return 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    conn_t *c = (conn_t *)s;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (n > 0 && http_parser_execute(&c->parser, &settings, buf->base, n) != (size_t)n) uv_close((uv_handle_t *)s, on_close);
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    conn_t *c = calloc(1, sizeof *c);
    uv_tcp_init(server->loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 8099;
    signal(SIGPIPE, SIG_IGN);
    snprintf(small_response, sizeof small_response,
             "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!");
    snprintf(big_head, sizeof big_head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/octet-stream\r\n\r\n", BIG);
    big_body = malloc(BIG);
    memset(big_body, 'x', BIG);
    settings.on_url = on_url;
    settings.on_message_complete = on_complete;
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(uv_default_loop(), &server);
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (uv_listen((uv_stream_t *)&server, 511, on_connection) != 0) {
        fprintf(stderr, "cannot listen on %d\n", port);
        return 1;
    }
    return uv_run(uv_default_loop(), UV_RUN_DEFAULT);
}
