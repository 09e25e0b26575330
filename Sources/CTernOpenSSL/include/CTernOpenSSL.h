// C shim for the system OpenSSL 3 (Debian libssl-dev). Only TernTLS imports this module.
// Macros that do not import into Swift get `static inline` wrappers here; the custom BIO that moves
// ciphertext between OpenSSL and Swift-owned buffers lives in shim.c.
#ifndef C_TERN_OPENSSL_H
#define C_TERN_OPENSSL_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stddef.h>
#include <stdint.h>

static inline long c_tern_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_min_proto_version(ctx, version);
}
static inline long c_tern_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return SSL_CTX_set_max_proto_version(ctx, version);
}
static inline long c_tern_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
static inline uint64_t c_tern_SSL_CTX_set_options(SSL_CTX *ctx, uint64_t options) {
    return SSL_CTX_set_options(ctx, options);
}
static inline long c_tern_SSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode) {
    return SSL_CTX_set_session_cache_mode(ctx, mode);
}
static inline long c_tern_SSL_CTX_sess_set_cache_size(SSL_CTX *ctx, long size) {
    return SSL_CTX_sess_set_cache_size(ctx, size);
}
static inline long c_tern_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return SSL_set_tlsext_host_name(ssl, name);
}
static inline int c_tern_TLS1_VERSION(void) { return TLS1_VERSION; }
static inline int c_tern_TLS1_1_VERSION(void) { return TLS1_1_VERSION; }
static inline int c_tern_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int c_tern_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline long c_tern_SSL_MODE_RELEASE_BUFFERS(void) { return SSL_MODE_RELEASE_BUFFERS; }
static inline long c_tern_SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER(void) { return SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER; }
static inline long c_tern_SSL_MODE_ENABLE_PARTIAL_WRITE(void) { return SSL_MODE_ENABLE_PARTIAL_WRITE; }
static inline uint64_t c_tern_SSL_OP_NO_COMPRESSION(void) { return SSL_OP_NO_COMPRESSION; }
static inline uint64_t c_tern_SSL_OP_NO_RENEGOTIATION(void) { return SSL_OP_NO_RENEGOTIATION; }
static inline uint64_t c_tern_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline long c_tern_SSL_SESS_CACHE_SERVER(void) { return SSL_SESS_CACHE_SERVER; }

/// A BIO whose reads come from a borrowed input span and whose writes append to a growable output buffer.
/// The input span is set before each OpenSSL call and is only valid during it.
typedef struct c_tern_bio_state {
    const unsigned char *input;
    size_t input_length;
    size_t input_consumed;
    unsigned char *output;
    size_t output_length;
    size_t output_capacity;
} c_tern_bio_state;

/// Creates a BIO attached to `state` (which the caller owns and keeps alive as long as the BIO).
BIO *c_tern_bio_new(c_tern_bio_state *state);
/// Frees the output buffer of `state` (the BIO itself is freed by SSL_free).
void c_tern_bio_state_release(c_tern_bio_state *state);

/// Writes a new self-signed certificate (ECDSA P-256, SHA-256, subjectAltName DNS:`host`, valid `days` days) and its
/// private key as PEM files; the key file is created with mode 0600. Returns 1 on success, 0 on failure (details in
/// the OpenSSL error queue, or errno for file errors).
int c_tern_make_self_signed(const char *host, const char *certificate_path, const char *key_path, int days);

#endif
