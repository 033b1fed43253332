#ifndef DC_TLS_H
#define DC_TLS_H

#include <stddef.h>

/// OpenSSL behind a small C surface: contexts, one connection driven through memory buffers (the
/// event loop owns the socket), and certificate making. Every function that can fail writes a
/// one-line reason into `err` (at most `errlen` bytes, NUL-terminated).

typedef struct dc_tls_ctx dc_tls_ctx;
typedef struct dc_tls dc_tls;

/// A server context serving `cert_file` (PEM, the leaf first, then any intermediates) with `key_file`.
dc_tls_ctx *dc_tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen);
/// A client context that verifies servers against the system's trust store (when `system_roots`)
/// and the certificates added with `dc_tls_ctx_trust`.
dc_tls_ctx *dc_tls_client_ctx(int system_roots, char *err, size_t errlen);
/// Trusts every certificate in `path` (a PEM file, or a folder whose files are PEM). 0 or -1.
int dc_tls_ctx_trust(dc_tls_ctx *ctx, const char *path, char *err, size_t errlen);
void dc_tls_ctx_free(dc_tls_ctx *ctx);

/// A connection. A client one sends `host` as SNI and checks the server's certificate names it
/// (a DNS name or an IP address).
dc_tls *dc_tls_new(dc_tls_ctx *ctx, int server, const char *host, char *err, size_t errlen);
void dc_tls_free(dc_tls *tls);

/// Hands bytes received from the socket to the connection. 0 or -1 (out of memory).
int dc_tls_feed(dc_tls *tls, const void *bytes, size_t count);
/// Advances the handshake: 1 done, 0 needs more input, -1 failed (reason in `dc_tls_error`).
int dc_tls_handshake(dc_tls *tls);
/// Reads decrypted bytes: > 0 a count, 0 needs more input, -1 failed, -2 the peer closed (close_notify).
int dc_tls_read(dc_tls *tls, void *out, size_t capacity);
/// Encrypts all of `bytes` (after the handshake). 0 or -1.
int dc_tls_write(dc_tls *tls, const void *bytes, size_t count);
/// Queues a close_notify.
void dc_tls_close_notify(dc_tls *tls);
/// Encrypted bytes waiting to go to the socket, and taking them.
size_t dc_tls_output_pending(dc_tls *tls);
size_t dc_tls_take_output(dc_tls *tls, void *out, size_t capacity);
/// Whether received bytes are held that a read could turn into plaintext.
int dc_tls_input_pending(dc_tls *tls);
/// The reason of the last failure on this connection.
const char *dc_tls_error(dc_tls *tls);
/// The negotiated protocol version, e.g. "TLSv1.3".
const char *dc_tls_version(dc_tls *tls);

/// Makes a certificate authority: a P-256 key in `key_file` (mode 0600) and a self-signed
/// certificate named `name` in `cert_file`, valid for `days`. 0 or -1.
int dc_tls_make_authority(const char *key_file, const char *cert_file, const char *name, int days, char *err,
                          size_t errlen);
/// Makes a server certificate signed by the authority, for `names` (DNS names or IP addresses; the
/// first is its common name), with a new P-256 key. 0 or -1.
int dc_tls_make_certificate(const char *ca_key_file, const char *ca_cert_file, const char *key_file,
                            const char *cert_file, const char *const *names, int name_count, int days, char *err,
                            size_t errlen);

#endif
