/* serve.c: `hwjose serve --config FILE` (the signing service, src/server/). */
#include "cli/cli.h"
#include "cli/util.h"

#include <string.h>

#ifdef HWJ_WITH_SERVER
#include "server/server.h"
#endif

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: hwjose serve --config FILE\n"
                 "       hwjose serve --check-config FILE\n\n"
                 "Runs the HTTP signing service described by FILE (docs/api.md, docs/deploy.md).\n"
                 "--check-config validates FILE and opens its TLS files, store and every key,\n"
                 "naming each problem, without listening: exit 0 when it would start, 2 if not.\n"
                 "PINs come from each key URI's pin-source or from $HWJOSE_PIN, never argv.\n"
                 "SIGHUP re-reads FILE (a bad config is rejected and the old one stays);\n"
                 "SIGTERM or SIGINT stops.\n");
}

static const char *const SERVE = "serve";

enum { OPT_CONFIG = CLI_OPT_FIRST_FREE_, OPT_CHECK_CONFIG };

static const struct option serve_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"check-config", required_argument, NULL, OPT_CHECK_CONFIG},
    {NULL, 0, NULL, 0},
};

#ifdef HWJ_WITH_SERVER
static void say_problem(void *arg, const char *problem)
{
    (void)arg;
    cli_say(SERVE, "%s", problem);
}

static int check_config(const char *path)
{
    int n = srv_check_config(path, say_problem, NULL);
    if (n)
        cli_say(SERVE, "%s: %d problem%s; the service would not start", path, n, n == 1 ? "" : "s");
    else
        printf("OK: %s\n", path);
    return n ? CLI_USAGE : CLI_OK;
}
#endif

int cmd_serve(int argc, char **argv)
{
    const char *config = NULL, *check = NULL;
    int opt;

    optind = 0;
    while ((opt = cli_getopt(SERVE, argc, argv, serve_options)) != -1) {
        switch (opt) {
        case 'h': serve_usage(stdout); return CLI_OK;
        case OPT_CONFIG: config = optarg; break;
        case OPT_CHECK_CONFIG: check = optarg; break;
        default: return cli_usage_error(SERVE);
        }
    }
    if (optind < argc) {
        cli_say(SERVE, "unexpected argument '%s'", argv[optind]);
        return cli_usage_error(SERVE);
    }
    if (!config == !check) {
        cli_say(SERVE, "one of --config FILE or --check-config FILE is required");
        return cli_usage_error(SERVE);
    }
#ifdef HWJ_WITH_SERVER
    if (check)
        return check_config(check);
    if (strcmp(config, "-") == 0) {
        cli_say(SERVE, "--config -: the service rereads its config file on reload, so it needs a "
                       "file (--check-config - checks one from stdin)");
        return cli_usage_error(SERVE);
    }
    return srv_run(config);
#else
    cli_say(SERVE, "this build has no server (configure with -DHWJ_WITH_SERVER=ON and libevent "
                   "installed)");
    return CLI_USAGE;
#endif
}
