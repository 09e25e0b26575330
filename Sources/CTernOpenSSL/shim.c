#include "CTernOpenSSL.h"
#include <stdlib.h>
#include <string.h>

static BIO_METHOD *c_tern_bio_method_instance;
static CRYPTO_ONCE c_tern_bio_once = CRYPTO_ONCE_STATIC_INIT;

static int c_tern_bio_write(BIO *bio, const char *data, int length) {
    c_tern_bio_state *state = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    if (length <= 0) return 0;
    size_t needed = state->output_length + (size_t)length;
    if (needed > state->output_capacity) {
        size_t capacity = state->output_capacity ? state->output_capacity : 4096;
        while (capacity < needed) capacity *= 2;
        unsigned char *grown = realloc(state->output, capacity);
        if (!grown) return -1;
        state->output = grown;
        state->output_capacity = capacity;
    }
    memcpy(state->output + state->output_length, data, (size_t)length);
    state->output_length += (size_t)length;
    return length;
}

static int c_tern_bio_read(BIO *bio, char *data, int length) {
    c_tern_bio_state *state = BIO_get_data(bio);
    BIO_clear_retry_flags(bio);
    size_t available = state->input_length - state->input_consumed;
    if (available == 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    size_t count = (size_t)length < available ? (size_t)length : available;
    memcpy(data, state->input + state->input_consumed, count);
    state->input_consumed += count;
    return (int)count;
}

static long c_tern_bio_ctrl(BIO *bio, int command, long larg, void *parg) {
    (void)bio; (void)larg; (void)parg;
    switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PUSH:
    case BIO_CTRL_POP: return 0;
    default: return 0;
    }
}

static int c_tern_bio_create(BIO *bio) {
    BIO_set_init(bio, 1);
    return 1;
}

static int c_tern_bio_destroy(BIO *bio) {
    BIO_set_data(bio, NULL);
    return 1;
}

static void c_tern_bio_method_init(void) {
    BIO_METHOD *method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tern-buffer");
    BIO_meth_set_write(method, c_tern_bio_write);
    BIO_meth_set_read(method, c_tern_bio_read);
    BIO_meth_set_ctrl(method, c_tern_bio_ctrl);
    BIO_meth_set_create(method, c_tern_bio_create);
    BIO_meth_set_destroy(method, c_tern_bio_destroy);
    c_tern_bio_method_instance = method;
}

BIO *c_tern_bio_new(c_tern_bio_state *state) {
    if (!CRYPTO_THREAD_run_once(&c_tern_bio_once, c_tern_bio_method_init) || !c_tern_bio_method_instance) return NULL;
    BIO *bio = BIO_new(c_tern_bio_method_instance);
    if (bio) BIO_set_data(bio, state);
    return bio;
}

void c_tern_bio_state_release(c_tern_bio_state *state) {
    free(state->output);
    state->output = NULL;
    state->output_length = 0;
    state->output_capacity = 0;
}

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int c_tern_write_pem(const char *path, int mode, EVP_PKEY *key, X509 *certificate) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return 0;
    FILE *file = fdopen(fd, "w");
    if (!file) { close(fd); return 0; }
    int ok = key ? PEM_write_PrivateKey(file, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(file, certificate);
    if (fflush(file) != 0 || fsync(fileno(file)) != 0) ok = 0;
    if (fclose(file) != 0) ok = 0;
    return ok;
}

int c_tern_make_self_signed(const char *host, const char *certificate_path, const char *key_path, int days) {
    int ok = 0;
    EVP_PKEY *key = NULL;
    X509 *certificate = NULL;
    X509_EXTENSION *extension = NULL;
    EVP_PKEY_CTX *key_context = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!key_context || EVP_PKEY_keygen_init(key_context) <= 0) goto done;
    if (EVP_PKEY_CTX_set_group_name(key_context, "P-256") <= 0) goto done;
    if (EVP_PKEY_generate(key_context, &key) <= 0) goto done;

    certificate = X509_new();
    if (!certificate || !X509_set_version(certificate, 2)) goto done;
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof serial) != 1) goto done;
    serial[0] &= 0x7f;
    BIGNUM *serial_number = BN_bin2bn(serial, sizeof serial, NULL);
    if (!serial_number) goto done;
    int serial_ok = BN_to_ASN1_INTEGER(serial_number, X509_get_serialNumber(certificate)) != NULL;
    BN_free(serial_number);
    if (!serial_ok) goto done;
    if (!X509_gmtime_adj(X509_getm_notBefore(certificate), -3600)) goto done;
    if (!X509_gmtime_adj(X509_getm_notAfter(certificate), (long)days * 86400)) goto done;
    if (!X509_set_pubkey(certificate, key)) goto done;
    X509_NAME *name = X509_get_subject_name(certificate);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)host, -1, -1, 0)) goto done;
    if (!X509_set_issuer_name(certificate, name)) goto done;

    X509V3_CTX v3;
    X509V3_set_ctx(&v3, certificate, certificate, NULL, NULL, 0);
    char san[512];
    snprintf(san, sizeof san, "DNS:%s", host);
    extension = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
    if (!extension || !X509_add_ext(certificate, extension, -1)) goto done;
    X509_EXTENSION_free(extension);
    extension = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:FALSE");
    if (!extension || !X509_add_ext(certificate, extension, -1)) goto done;
    X509_EXTENSION_free(extension);
    extension = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, "serverAuth");
    if (!extension || !X509_add_ext(certificate, extension, -1)) goto done;
    if (!X509_sign(certificate, key, EVP_sha256())) goto done;

    if (!c_tern_write_pem(key_path, 0600, key, NULL)) goto done;
    if (!c_tern_write_pem(certificate_path, 0644, NULL, certificate)) goto done;
    ok = 1;
done:
    X509_EXTENSION_free(extension);
    X509_free(certificate);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(key_context);
    return ok;
}
