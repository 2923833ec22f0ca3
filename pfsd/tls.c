#include "tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define PFSD_TLS_MAX_PEM  (1024 * 1024)

int
pfsd_tls_check_options(const pfsd_config_t *cfg, char *err, size_t errlen)
{
    if ((cfg->tls_cert == NULL) != (cfg->tls_key == NULL)) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (cfg->tls_client_ca != NULL && cfg->tls_cert == NULL) {
        snprintf(err, errlen, "--tls-client-ca needs --tls-cert and --tls-key");
        return -1;
    }
    return 0;
}

/* The whole file as a NUL-terminated string (gRPC takes PEM text). */
static char *
pfsd_tls_read(const char *opt, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;

    if (f == NULL) {
        snprintf(err, errlen, "%s %s: %s", opt, path, strerror(errno));
        return NULL;
    }
    buf = pfsd_xmalloc(PFSD_TLS_MAX_PEM + 1);
    n = fread(buf, 1, PFSD_TLS_MAX_PEM + 1, f);
    fclose(f);
    if (n == 0 || n > PFSD_TLS_MAX_PEM) {
        snprintf(err, errlen, "%s %s: %s", opt, path,
                 n == 0 ? "empty or unreadable" : "larger than 1 MiB");
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* gRPC reports a bad certificate or key only when a client connects; check
 * them now so that pfsd refuses to start with a clear reason instead. */
static int
pfsd_tls_check_pair(const char *cert_pem, const char *key_pem,
                    const pfsd_config_t *cfg, char *err, size_t errlen)
{
    BIO *cb = BIO_new_mem_buf(cert_pem, -1);
    BIO *kb = BIO_new_mem_buf(key_pem, -1);
    X509 *cert = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    int rc = -1;

    if (cert == NULL) {
        snprintf(err, errlen, "--tls-cert %s: no PEM certificate",
                 cfg->tls_cert);
    } else if (key == NULL) {
        snprintf(err, errlen, "--tls-key %s: no PEM private key (or it is "
                 "encrypted)", cfg->tls_key);
    } else if (X509_check_private_key(cert, key) != 1) {
        snprintf(err, errlen, "--tls-key %s is not the key of --tls-cert %s",
                 cfg->tls_key, cfg->tls_cert);
    } else {
        rc = 0;
    }
    ERR_clear_error();
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cb);
    BIO_free(kb);
    return rc;
}

grpc_server_credentials *
pfsd_tls_server_credentials(const pfsd_config_t *cfg, char *err,
                            size_t errlen)
{
    grpc_ssl_pem_key_cert_pair pair;
    grpc_server_credentials *creds = NULL;
    char *cert, *key = NULL, *ca = NULL;

    if (cfg->tls_cert == NULL) {
        return grpc_insecure_server_credentials_create();
    }
    cert = pfsd_tls_read("--tls-cert", cfg->tls_cert, err, errlen);
    if (cert == NULL) {
        return NULL;
    }
    key = pfsd_tls_read("--tls-key", cfg->tls_key, err, errlen);
    if (key == NULL || pfsd_tls_check_pair(cert, key, cfg, err, errlen) != 0) {
        goto done;
    }
    if (cfg->tls_client_ca != NULL) {
        ca = pfsd_tls_read("--tls-client-ca", cfg->tls_client_ca, err, errlen);
        if (ca == NULL) {
            goto done;
        }
    }
    pair.private_key = key;
    pair.cert_chain = cert;
    /* gRPC copies the PEM text it is given. */
    creds = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1,
        ca != NULL ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
    if (creds == NULL) {
        snprintf(err, errlen, "TLS credentials from %s and %s were refused",
                 cfg->tls_cert, cfg->tls_key);
    }

done:
    if (key != NULL) {
        /* private key bytes should not linger in freed heap memory */
        memset(key, 0, strlen(key));
    }
    free(cert);
    free(key);
    free(ca);
    return creds;
}
