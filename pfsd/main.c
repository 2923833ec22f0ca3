/* pfsd: a durable server for the pfs_v2 / auth_v2 / versionpb_v2 gRPC API
 * subset used by ngx_http_pfs_s3.  See docs/DESIGN.md, section pfsd. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "tls.h"

static void
pfsd_usage(FILE *f)
{
    fprintf(f,
        "usage: pfsd --listen ADDR --data DIR [options]\n"
        "\n"
        "Serves Pachyderm's pfs_v2, auth_v2 and versionpb_v2 gRPC API (the\n"
        "subset ngx_http_pfs_s3 uses) from durable local storage.\n"
        "\n"
        "  --listen ADDR         address to serve on, e.g. 127.0.0.1:1650\n"
        "  --data DIR            data directory (created if missing)\n"
        "  --auth-tokens FILE    turn auth on; FILE has lines \"<token> <user>\"\n"
        "  --tls-cert FILE       serve TLS with this PEM certificate (chain)\n"
        "  --tls-key FILE        and this PEM private key\n"
        "  --tls-client-ca FILE  require client certificates signed by this CA\n"
        "  --log-level LEVEL     error, warn, info (default) or debug\n"
        "  --threads N           completion-queue threads (default 2 x cores,\n"
        "                        at least 4)\n"
        "  --pack-size BYTES     rotate pack files at this size (default 1 GiB)\n"
        "  --gc-interval SECS    seconds between garbage collection passes\n"
        "                        (default 60; 0 disables)\n"
        "  --grace SECS          on SIGTERM, time running calls get to finish\n"
        "                        (default 10)\n"
        "  --help                this text\n");
}

static int
pfsd_parse_int(const char *opt, const char *s, long long min, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (*s == '\0' || *end != '\0' || v < min) {
        fprintf(stderr, "pfsd: bad value for %s: %s\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

enum {
    OPT_LISTEN = 256, OPT_DATA, OPT_AUTH, OPT_LOG_LEVEL, OPT_THREADS,
    OPT_PACK_SIZE, OPT_GC, OPT_GRACE, OPT_HELP,
    OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_CLIENT_CA,
};

static int
pfsd_parse_args(int argc, char **argv, pfsd_config_t *cfg)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "data", required_argument, NULL, OPT_DATA },
        { "auth-tokens", required_argument, NULL, OPT_AUTH },
        { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
        { "threads", required_argument, NULL, OPT_THREADS },
        { "pack-size", required_argument, NULL, OPT_PACK_SIZE },
        { "gc-interval", required_argument, NULL, OPT_GC },
        { "grace", required_argument, NULL, OPT_GRACE },
        { "help", no_argument, NULL, OPT_HELP },
        { "tls-cert", required_argument, NULL, OPT_TLS_CERT },
        { "tls-key", required_argument, NULL, OPT_TLS_KEY },
        { "tls-client-ca", required_argument, NULL, OPT_TLS_CLIENT_CA },
        { NULL, 0, NULL, 0 },
    };
    char err[256];
    long long v;
    int c;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN: cfg->listen = optarg; break;
        case OPT_DATA: cfg->data_dir = optarg; break;
        case OPT_AUTH: cfg->auth_tokens = optarg; break;
        case OPT_TLS_CERT: cfg->tls_cert = optarg; break;
        case OPT_TLS_KEY: cfg->tls_key = optarg; break;
        case OPT_TLS_CLIENT_CA: cfg->tls_client_ca = optarg; break;
        case OPT_LOG_LEVEL:
            if (pfsd_log_parse_level(optarg, &cfg->log_level) != 0) {
                fprintf(stderr, "pfsd: bad --log-level %s "
                        "(error, warn, info or debug)\n", optarg);
                return -1;
            }
            break;
        case OPT_THREADS:
            if (pfsd_parse_int("--threads", optarg, 1, &v) != 0) {
                return -1;
            }
            cfg->threads = (int) v;
            break;
        case OPT_PACK_SIZE:
            if (pfsd_parse_int("--pack-size", optarg, 4096, &v) != 0) {
                return -1;
            }
            cfg->pack_max_bytes = v;
            break;
        case OPT_GC:
            if (pfsd_parse_int("--gc-interval", optarg, 0, &v) != 0) {
                return -1;
            }
            cfg->gc_interval_s = v == 0 ? -1 : (int) v;
            break;
        case OPT_GRACE:
            if (pfsd_parse_int("--grace", optarg, 0, &v) != 0) {
                return -1;
            }
            cfg->grace_s = (int) v;
            break;
        case 'h':
        case OPT_HELP:
            pfsd_usage(stdout);
            exit(0);
        case ':':
            fprintf(stderr, "pfsd: option %s needs a value (see --help)\n",
                    argv[optind - 1]);
            return -1;
        default:
            fprintf(stderr, "pfsd: unknown option %s (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "pfsd: unexpected argument %s (see --help)\n",
                argv[optind]);
        return -1;
    }
    if (cfg->listen == NULL || cfg->data_dir == NULL) {
        fprintf(stderr, "pfsd: --listen and --data are required "
                "(see --help)\n");
        return -1;
    }
    if (pfsd_tls_check_options(cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "pfsd: %s\n", err);
        return -1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    pfsd_config_t cfg;
    pfsd_server_t *srv;
    sigset_t set;
    char err[1024];
    int sig;

    /* Message buffers of a few MiB come and go on every thread.  glibc
     * would raise its mmap threshold after the first ones are freed and
     * keep later ones in per-thread heaps; a fixed threshold hands them
     * back to the system when freed, so memory stays bounded. */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    memset(&cfg, 0, sizeof(cfg));
    cfg.log_level = PFSD_LOG_INFO;
    cfg.grace_s = 10;
    if (pfsd_parse_args(argc, argv, &cfg) != 0) {
        return 2;
    }
    /* Signals are taken synchronously by this thread with sigwait; every
     * other thread inherits the blocked mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (pfsd_server_start(&srv, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "pfsd: %s\n", err);
        return 1;
    }
    sigwait(&set, &sig);
    pfsd_server_stop(srv);
    return 0;
}
