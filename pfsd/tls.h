/* TLS for pfsd's listener (--tls-cert, --tls-key, --tls-client-ca), so that
 * pfsd can stand in for a pachd that serves grpcs:// and asks for client
 * certificates. */
#ifndef PFSD_TLS_H
#define PFSD_TLS_H

#include <grpc/grpc_security.h>
#include <stddef.h>

#include "server.h"

/* Checks the TLS options together: a certificate needs its key, a client CA
 * needs a certificate.  Returns 0, or -1 with one line in err. */
int pfsd_tls_check_options(const pfsd_config_t *cfg, char *err, size_t errlen);

/* The credentials for the listening port: plain text without --tls-cert;
 * otherwise TLS with that certificate and key (checked to match), and, with
 * --tls-client-ca, a client certificate signed by that CA required on every
 * connection.  NULL with one line in err when a file is unusable.  The
 * caller releases the result. */
grpc_server_credentials *pfsd_tls_server_credentials(const pfsd_config_t *cfg,
                                                     char *err, size_t errlen);

#endif
