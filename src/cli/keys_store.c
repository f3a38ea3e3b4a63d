/* keys_store.c: `hwjose keys rotate` and `hwjose keys versions` — a service's key versions in
 * its state store (docs/rotation.md), from the command line, with the same rotation code as
 * POST /v1/keys/{name}/rotate. */
#include "cli/cli.h"
#include "cli/util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HWJ_WITH_SERVER
#include "server/server.h"
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: hwjose keys rotate --config FILE NAME [--uri URI]\n"
            "       hwjose keys versions --config FILE NAME\n"
            "  (NAME may also be given as --key NAME)\n"
            "  rotate: adds the next version of the service's key NAME — generated inside the\n"
            "  token from the key's \"generate\" template, or the existing key at URI — to the\n"
            "  state store the config names, with its publish and activate times; every\n"
            "  replica picks it up. Prints the new version (JSON).\n"
            "  versions: prints the key's versions with their times and states (JSON).\n"
            "  Exit: 0 done, 1 refused (a newer version is not active yet, another replica is\n"
            "  rotating, the store or token failed), 2 usage or config error.\n");
}

#ifdef HWJ_WITH_SERVER
enum { OPT_CONFIG = CLI_OPT_FIRST_FREE_, OPT_KEY, OPT_URI };

static const struct option options[] = {
    {"help", no_argument, NULL, 'h'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"key", required_argument, NULL, OPT_KEY},
    {"uri", required_argument, NULL, OPT_URI},
    {NULL, 0, NULL, 0},
};

static json_t *version_json(const srv_version *v, int64_t now)
{
    return json_pack(
        "{s:s,s:I,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:s}", "key", v->key_name, "version",
        (json_int_t)v->version, "kid", v->kid, "state", srv_lc_state(v, now), "origin", v->origin,
        "created_by", v->created_by, "created_at", (json_int_t)v->created_at, "publish_at",
        (json_int_t)v->publish_at, "activate_at", (json_int_t)v->activate_at, "retire_at",
        (json_int_t)v->retire_at, "remove_at", (json_int_t)v->remove_at, "uri", v->uri);
}

static int print_json(const char *cmd, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    int ret = text ? cli_write(cmd, text, strlen(text), 1) : CLI_INVALID;
    free(text);
    json_decref(j);
    return ret;
}

static int run(const char *cmd, int rotate, const char *cfg_path, const char *name, const char *uri)
{
    char msg[1024];
    srv_config *cfg = NULL;
    srv_store *store = NULL;
    srv_version *v = NULL;
    size_t n = 0;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    int ret = CLI_USAGE;
    int64_t now = (int64_t)time(NULL);

    if (srv_config_load(cfg_path, &cfg, msg, sizeof(msg)) != 0) {
        cli_say(cmd, "%s", msg);
        goto out;
    }
    const srv_key_conf *kc = NULL;
    for (size_t i = 0; i < cfg->nkeys && !kc; i++)
        if (strcmp(cfg->keys[i].name, name) == 0)
            kc = &cfg->keys[i];
    if (!kc) {
        cli_say(cmd, "the config has no key named '%s'", name);
        goto out;
    }
    ret = CLI_INVALID;
    if (srv_store_open(cfg->store_url, "hwjose keys", &store, msg, sizeof(msg)) != SRV_STORE_OK) {
        cli_say(cmd, "%s", msg);
        goto out;
    }
    if (!rotate) {
        if (srv_store_list(store, name, &v, &n, msg, sizeof(msg)) != SRV_STORE_OK) {
            cli_say(cmd, "%s", msg);
            goto out;
        }
        json_t *list = json_array();
        for (size_t i = 0; list && i < n; i++)
            json_array_append_new(list, version_json(&v[i], now));
        ret = print_json(cmd, list);
        goto out;
    }
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK) {
        ret = cli_fail(cmd, HWJ_ERR_NOMEM, &err);
        goto out;
    }
    srv_version *nv = NULL;
    srv_rotate_result rc = srv_rotate_in(store, ctx, cfg, kc, uri, now, &nv, msg, sizeof(msg));
    if (rc != SRV_ROTATE_OK) {
        cli_say(cmd, "%s", msg);
        ret = rc == SRV_ROTATE_BAD ? CLI_USAGE : CLI_INVALID;
        goto out;
    }
    v = nv;
    n = 1;
    ret = print_json(cmd, version_json(nv, now));
out:
    srv_versions_free(v, n);
    hwj_ctx_free(ctx);
    srv_store_close(store);
    srv_config_free(cfg);
    return ret;
}
#endif

int cmd_keys_store(int argc, char **argv)
{
    const char *cmd = strcmp(argv[0], "rotate") == 0 ? "keys rotate" : "keys versions";
    int rotate = strcmp(argv[0], "rotate") == 0;
#ifdef HWJ_WITH_SERVER
    const char *cfg = NULL, *name = NULL, *uri = NULL;
    int opt;
    optind = 0;
    while ((opt = cli_getopt(cmd, argc, argv, options)) != -1) {
        switch (opt) {
        case 'h': usage(stdout); return CLI_OK;
        case OPT_CONFIG: cfg = optarg; break;
        case OPT_KEY: name = optarg; break;
        case OPT_URI: uri = optarg; break;
        default: return cli_usage_error(cmd);
        }
    }
    if (!name && optind < argc)
        name = argv[optind++];
    if (optind < argc || !cfg || !name || (uri && !rotate)) {
        cli_say(cmd, "--config FILE and the key's NAME are required%s",
                rotate ? "; --uri URI is optional" : "");
        return cli_usage_error(cmd);
    }
    if (uri && strstr(uri, "pin-value")) {
        cli_say(cmd, "--uri: pin-value is refused (use pin-source=file:... or HWJOSE_PIN)");
        return CLI_USAGE;
    }
    return run(cmd, rotate, cfg, name, uri);
#else
    (void)argc;
    (void)rotate;
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return CLI_OK;
    }
    cli_say(cmd, "this build has no server (configure with -DHWJ_WITH_SERVER=ON)");
    return CLI_USAGE;
#endif
}
