/* serve.c: `hwjose serve --config FILE` (the signing service, src/server/) and
 * `hwjose audit verify FILE` (checks the service's audit log hash chain). */
#include "cli/cli.h"

#include <string.h>

#ifdef HWJ_WITH_SERVER
#include "server/server.h"
#endif

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: hwjose serve --config FILE\n\n"
                 "Runs the HTTP signing service described by FILE (docs/api.md, docs/deploy.md).\n"
                 "PINs come from each key URI's pin-source or from $HWJOSE_PIN, never argv.\n"
                 "SIGHUP re-reads FILE (a bad config is rejected and the old one stays);\n"
                 "SIGTERM or SIGINT stops.\n");
}

int cmd_serve(int argc, char **argv)
{
    const char *config = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            serve_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config = argv[i] + 9;
        } else {
            fprintf(stderr, "hwjose serve: unknown argument '%s'\n", argv[i]);
            serve_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (!config) {
        serve_usage(stderr);
        return CLI_USAGE;
    }
#ifdef HWJ_WITH_SERVER
    return srv_run(config);
#else
    fprintf(stderr, "hwjose serve: this build has no server (configure with -DHWJ_WITH_SERVER=ON "
                    "and libevent installed)\n");
    return CLI_USAGE;
#endif
}

int cmd_audit(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: hwjose audit verify FILE\n\nChecks the hash chain of a `hwjose serve` "
               "audit log. Exit 0 if intact (prints the record count and the head hash to\n"
               "compare with an external anchor), 1 naming the first broken record, 2 on usage "
               "or read errors.\n");
        return CLI_OK;
    }
    if (argc != 3 || strcmp(argv[1], "verify") != 0) {
        fprintf(stderr, "usage: hwjose audit verify FILE\n");
        return CLI_USAGE;
    }
#ifdef HWJ_WITH_SERVER
    size_t records = 0, bad = 0;
    char head[65], msg[512];
    int rc = srv_audit_verify(argv[2], &records, &bad, head, msg, sizeof(msg));
    if (rc < 0) {
        fprintf(stderr, "hwjose audit: %s\n", msg);
        return CLI_USAGE;
    }
    if (rc > 0) {
        printf("BROKEN at record %zu of %s: %s\n", bad, argv[2], msg);
        printf("%zu records before it verify\n", records);
        return CLI_INVALID;
    }
    printf("OK: %zu records, chain intact, head sha256 %s\n", records, head);
    return CLI_OK;
#else
    fprintf(stderr, "hwjose audit: this build has no server support\n");
    return CLI_USAGE;
#endif
}
