#include "dc_tls.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct dc_tls_ctx {
    SSL_CTX *ssl;
};

struct dc_tls {
    SSL *ssl;
    BIO *in;  /* bytes from the socket */
    BIO *out; /* bytes for the socket */
    char error[256];
};

/* The reason of the most recent OpenSSL failure (or `fallback`), clearing the thread's error queue. */
static void take_error(char *err, size_t errlen, const char *fallback) {
    unsigned long code = ERR_peek_last_error();
    if (err && errlen) {
        if (code) {
            char reason[200];
            ERR_error_string_n(code, reason, sizeof reason);
            const char *text = ERR_reason_error_string(code);
            snprintf(err, errlen, "%s: %s", fallback, text ? text : reason);
        } else {
            snprintf(err, errlen, "%s", fallback);
        }
    }
    ERR_clear_error();
}

dc_tls_ctx *dc_tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl) {
        take_error(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ssl, cert_file) != 1) {
        char what[600];
        snprintf(what, sizeof what, "cannot use the certificate %s", cert_file);
        take_error(err, errlen, what);
        SSL_CTX_free(ssl);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ssl, key_file, SSL_FILETYPE_PEM) != 1) {
        char what[600];
        snprintf(what, sizeof what, "cannot use the private key %s", key_file);
        take_error(err, errlen, what);
        SSL_CTX_free(ssl);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ssl) != 1) {
        take_error(err, errlen, "the private key does not match the certificate");
        SSL_CTX_free(ssl);
        return NULL;
    }
    dc_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        SSL_CTX_free(ssl);
        return NULL;
    }
    ctx->ssl = ssl;
    return ctx;
}

dc_tls_ctx *dc_tls_client_ctx(int system_roots, char *err, size_t errlen) {
    ERR_clear_error();
    SSL_CTX *ssl = SSL_CTX_new(TLS_client_method());
    if (!ssl) {
        take_error(err, errlen, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_CTX_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ssl, SSL_VERIFY_PEER, NULL);
    if (system_roots && SSL_CTX_set_default_verify_paths(ssl) != 1) ERR_clear_error();
    dc_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        snprintf(err, errlen, "out of memory");
        SSL_CTX_free(ssl);
        return NULL;
    }
    ctx->ssl = ssl;
    return ctx;
}

static int trust_file(SSL_CTX *ssl, const char *path, char *err, size_t errlen) {
    if (SSL_CTX_load_verify_locations(ssl, path, NULL) != 1) {
        char what[600];
        snprintf(what, sizeof what, "cannot read the certificates in %s", path);
        take_error(err, errlen, what);
        return -1;
    }
    return 0;
}

int dc_tls_ctx_trust(dc_tls_ctx *ctx, const char *path, char *err, size_t errlen) {
    ERR_clear_error();
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return trust_file(ctx->ssl, path, err, errlen);
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(err, errlen, "cannot list %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *entry;
    while (rc == 0 && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char file[4096];
        if (snprintf(file, sizeof file, "%s/%s", path, entry->d_name) >= (int)sizeof file) {
            snprintf(err, errlen, "a path in %s is too long", path);
            rc = -1;
            break;
        }
        if (stat(file, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        rc = trust_file(ctx->ssl, file, err, errlen);
    }
    closedir(dir);
    return rc;
}

void dc_tls_ctx_free(dc_tls_ctx *ctx) {
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

dc_tls *dc_tls_new(dc_tls_ctx *ctx, int server, const char *host, char *err, size_t errlen) {
    ERR_clear_error();
    dc_tls *tls = calloc(1, sizeof *tls);
    if (!tls) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tls->ssl = SSL_new(ctx->ssl);
    tls->in = BIO_new(BIO_s_mem());
    tls->out = BIO_new(BIO_s_mem());
    if (!tls->ssl || !tls->in || !tls->out) {
        take_error(err, errlen, "cannot make a TLS connection");
        if (tls->ssl) SSL_free(tls->ssl);
        BIO_free(tls->in);
        BIO_free(tls->out);
        free(tls);
        return NULL;
    }
    /* An empty memory BIO means "wait for more", not end of file. */
    BIO_set_mem_eof_return(tls->in, -1);
    BIO_set_mem_eof_return(tls->out, -1);
    SSL_set_bio(tls->ssl, tls->in, tls->out);
    if (server) {
        SSL_set_accept_state(tls->ssl);
    } else {
        SSL_set_connect_state(tls->ssl);
        unsigned char address[16];
        int is_ip = inet_pton(AF_INET, host, address) == 1 || inet_pton(AF_INET6, host, address) == 1;
        int ok;
        if (is_ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls->ssl), host);
        } else {
            ok = SSL_set_tlsext_host_name(tls->ssl, host) == 1 && SSL_set1_host(tls->ssl, host) == 1;
        }
        if (!ok) {
            take_error(err, errlen, "cannot set the server name to verify");
            dc_tls_free(tls);
            return NULL;
        }
    }
    return tls;
}

void dc_tls_free(dc_tls *tls) {
    if (!tls) return;
    SSL_free(tls->ssl); /* frees both BIOs */
    free(tls);
}

int dc_tls_feed(dc_tls *tls, const void *bytes, size_t count) {
    if (count == 0) return 0;
    return BIO_write(tls->in, bytes, (int)count) == (int)count ? 0 : -1;
}

/* Classifies a failed SSL call: 0 for "needs more input", -1 for a failure (reason kept). */
static int failure(dc_tls *tls, int rc, const char *doing) {
    int code = SSL_get_error(tls->ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) return 0;
    if (code == SSL_ERROR_SSL) {
        long verify = SSL_get_verify_result(tls->ssl);
        if (verify != X509_V_OK) {
            snprintf(tls->error, sizeof tls->error, "%s: certificate verify failed: %s", doing,
                     X509_verify_cert_error_string(verify));
            ERR_clear_error();
            return -1;
        }
    }
    take_error(tls->error, sizeof tls->error, doing);
    return -1;
}

int dc_tls_handshake(dc_tls *tls) {
    ERR_clear_error();
    int rc = SSL_do_handshake(tls->ssl);
    if (rc == 1) return 1;
    return failure(tls, rc, "TLS handshake");
}

int dc_tls_read(dc_tls *tls, void *out, size_t capacity) {
    ERR_clear_error();
    int rc = SSL_read(tls->ssl, out, (int)capacity);
    if (rc > 0) return rc;
    if (SSL_get_error(tls->ssl, rc) == SSL_ERROR_ZERO_RETURN) return -2;
    return failure(tls, rc, "TLS read");
}

int dc_tls_write(dc_tls *tls, const void *bytes, size_t count) {
    ERR_clear_error();
    const char *p = bytes;
    while (count > 0) {
        int chunk = count > (1 << 30) ? (1 << 30) : (int)count;
        int rc = SSL_write(tls->ssl, p, chunk);
        if (rc <= 0) {
            /* Memory buffers never block: "would block" here is the peer asking for a renegotiation. */
            if (failure(tls, rc, "TLS write") == 0) snprintf(tls->error, sizeof tls->error, "TLS write: renegotiation refused");
            return -1;
        }
        p += rc;
        count -= (size_t)rc;
    }
    return 0;
}

void dc_tls_close_notify(dc_tls *tls) {
    ERR_clear_error();
    SSL_shutdown(tls->ssl);
    ERR_clear_error();
}

size_t dc_tls_output_pending(dc_tls *tls) { return BIO_ctrl_pending(tls->out); }

size_t dc_tls_take_output(dc_tls *tls, void *out, size_t capacity) {
    int rc = BIO_read(tls->out, out, capacity > INT_MAX ? INT_MAX : (int)capacity);
    return rc > 0 ? (size_t)rc : 0;
}

int dc_tls_input_pending(dc_tls *tls) { return SSL_pending(tls->ssl) > 0 || BIO_ctrl_pending(tls->in) > 0; }

const char *dc_tls_error(dc_tls *tls) { return tls->error; }

const char *dc_tls_version(dc_tls *tls) { return SSL_get_version(tls->ssl); }

/* ---- Certificates ---- */

static int write_key(EVP_PKEY *key, const char *path, char *err, size_t errlen) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *file = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!file) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    int ok = PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL);
    if (fclose(file) != 0) ok = 0;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

static int write_cert(X509 *cert, const char *path, char *err, size_t errlen) {
    FILE *file = fopen(path, "w");
    if (!file) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    int ok = PEM_write_X509(file, cert);
    if (fclose(file) != 0) ok = 0;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s", path);
        return -1;
    }
    return 0;
}

static int add_extension(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for `key` named `name`, valid from an hour ago for `days`, with a random serial. */
static X509 *new_certificate(EVP_PKEY *key, const char *name, int days) {
    X509 *cert = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    int ok = cert && X509_set_version(cert, 2) && RAND_bytes(serial, sizeof serial) == 1;
    if (ok) {
        serial[0] &= 0x7f; /* a positive serial */
        bn = BN_bin2bn(serial, sizeof serial, NULL);
        ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    }
    BN_free(bn);
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert), -3600) && X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400);
    ok = ok && X509_set_pubkey(cert, key);
    ok = ok && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "O", MBSTRING_UTF8,
                                          (const unsigned char *)"devcluster", -1, -1, 0);
    ok = ok && X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_UTF8,
                                          (const unsigned char *)name, -1, -1, 0);
    if (!ok) {
        X509_free(cert);
        return NULL;
    }
    return cert;
}

int dc_tls_make_authority(const char *key_file, const char *cert_file, const char *name, int days, char *err,
                          size_t errlen) {
    ERR_clear_error();
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? new_certificate(key, name, days) : NULL;
    int ok = cert && X509_set_issuer_name(cert, X509_get_subject_name(cert)) &&
             add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE") &&
             add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") &&
             add_extension(cert, cert, NID_subject_key_identifier, "hash") && X509_sign(cert, key, EVP_sha256()) > 0;
    int rc = -1;
    if (!ok) {
        take_error(err, errlen, "cannot make the certificate authority");
    } else if (write_key(key, key_file, err, errlen) == 0 && write_cert(cert, cert_file, err, errlen) == 0) {
        rc = 0;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    return rc;
}

static EVP_PKEY *read_key(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    EVP_PKEY *key = PEM_read_PrivateKey(file, NULL, NULL, NULL);
    fclose(file);
    return key;
}

static X509 *read_cert(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) return NULL;
    X509 *cert = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    return cert;
}

int dc_tls_make_certificate(const char *ca_key_file, const char *ca_cert_file, const char *key_file,
                            const char *cert_file, const char *const *names, int name_count, int days, char *err,
                            size_t errlen) {
    ERR_clear_error();
    if (name_count < 1) {
        snprintf(err, errlen, "a certificate needs at least one name");
        return -1;
    }
    EVP_PKEY *ca_key = read_key(ca_key_file);
    X509 *ca_cert = read_cert(ca_cert_file);
    if (!ca_key || !ca_cert) {
        snprintf(err, errlen, "cannot read the certificate authority (%s, %s)", ca_cert_file, ca_key_file);
        EVP_PKEY_free(ca_key);
        X509_free(ca_cert);
        return -1;
    }
    char alt[4096] = "";
    size_t used = 0;
    for (int i = 0; i < name_count; i++) {
        unsigned char address[16];
        int is_ip = inet_pton(AF_INET, names[i], address) == 1 || inet_pton(AF_INET6, names[i], address) == 1;
        /* The names are joined into one extension value: a separator inside one would add another. */
        if (!is_ip && (strchr(names[i], ',') || strchr(names[i], ':') || names[i][0] == '\0')) {
            snprintf(err, errlen, "\"%s\" is not a host name or an IP address", names[i]);
            EVP_PKEY_free(ca_key);
            X509_free(ca_cert);
            return -1;
        }
        int n = snprintf(alt + used, sizeof alt - used, "%s%s:%s", i ? "," : "", is_ip ? "IP" : "DNS", names[i]);
        if (n < 0 || (size_t)n >= sizeof alt - used) {
            snprintf(err, errlen, "too many names for one certificate");
            EVP_PKEY_free(ca_key);
            X509_free(ca_cert);
            return -1;
        }
        used += (size_t)n;
    }
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *cert = key ? new_certificate(key, names[0], days) : NULL;
    int ok = cert && X509_set_issuer_name(cert, X509_get_subject_name(ca_cert)) &&
             add_extension(cert, ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
             add_extension(cert, ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
             add_extension(cert, ca_cert, NID_ext_key_usage, "serverAuth,clientAuth") &&
             add_extension(cert, ca_cert, NID_subject_alt_name, alt) &&
             add_extension(cert, ca_cert, NID_authority_key_identifier, "keyid:always") &&
             X509_sign(cert, ca_key, EVP_sha256()) > 0;
    int rc = -1;
    if (!ok) {
        take_error(err, errlen, "cannot make the certificate");
    } else if (write_key(key, key_file, err, errlen) == 0 && write_cert(cert, cert_file, err, errlen) == 0) {
        rc = 0;
    }
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(ca_cert);
    EVP_PKEY_free(ca_key);
    return rc;
}
