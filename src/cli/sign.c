/* sign.c: `hwjose sign` — the payload on stdin (or --in FILE), the JWS on stdout. */
#include "cli/util.h"

#include <string.h>

static const char *const CMD = "sign";

static void sign_usage(FILE *out)
{
    fprintf(out,
            "usage: hwjose sign --key URI [--alg ALG] [--kid KID] [--header JSON] [--detached]\n"
            "                   [--no-b64] [--json | --json-flat] [--in FILE] "
            "[--allow-extractable]\n"
            "  Signs the payload (stdin, or FILE) and writes the JWS to stdout.\n"
            "  --key URI        pkcs11:..., tpm2:..., jwk:PATH (private JWK), file:PATH (PEM).\n"
            "                   The PIN comes from the URI's pin-source or $HWJOSE_PIN only.\n"
            "  --alg ALG        HS256..512 RS256..512 PS256..512 ES256..512 EdDSA Ed25519\n"
            "                   (default: the key's \"alg\", else its natural alg).\n"
            "  --kid KID        the header's kid (default: the key's kid or RFC 7638 "
            "thumbprint;\n"
            "                   \"\" leaves kid out).\n"
            "  --header JSON    extra protected header members, a JSON object.\n"
            "  --detached       leave the payload out (RFC 7515 Appendix F).\n"
            "  --no-b64         RFC 7797 unencoded payload (\"b64\":false, \"crit\":[\"b64\"]).\n"
            "  --json           general JSON serialization; --json-flat: flattened.\n"
            "  --allow-extractable  sign with a token key that is marked extractable.\n"
            "  Exit: 0 signed, 1 signing failed, 2 usage or input error.\n");
}

enum { OPT_KEY = CLI_OPT_FIRST_FREE_, OPT_KID, OPT_HEADER, OPT_IN, OPT_ALG };

static const struct option sign_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"alg", required_argument, NULL, OPT_ALG},
    {"kid", required_argument, NULL, OPT_KID},
    {"header", required_argument, NULL, OPT_HEADER},
    {"detached", no_argument, NULL, 'd'},
    {"no-b64", no_argument, NULL, 'b'},
    {"json", no_argument, NULL, 'j'},
    {"json-flat", no_argument, NULL, 'f'},
    {"in", required_argument, NULL, OPT_IN},
    {"allow-extractable", no_argument, NULL, 'x'},
    {NULL, 0, NULL, 0},
};

int cmd_sign(int argc, char **argv)
{
    const char *uri = NULL, *in_path = NULL;
    hwj_jws_sign_opts so = HWJ_JWS_SIGN_OPTS_INIT;
    int allow_extractable = 0, nformats = 0, ret, opt;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0;
    char *jws = NULL;
    hwj_error err = {0};
    hwj_err rc;

    optind = 0;
    while ((opt = cli_getopt(CMD, argc, argv, sign_options)) != -1) {
        switch (opt) {
        case 'h': sign_usage(stdout); return CLI_OK;
        case OPT_KEY: uri = optarg; break;
        case OPT_ALG:
            so.alg = hwj_alg_from_name(optarg);
            if (so.alg == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(so.alg) != HWJ_ALG_KIND_JWS) {
                cli_say(CMD, "'%s' is not a JWS alg; see --help", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_KID: so.kid = optarg; break;
        case OPT_HEADER: so.header_json = optarg; break;
        case 'd': so.detached = 1; break;
        case 'b': so.b64_false = 1; break;
        case 'j': so.format = HWJ_JWS_JSON, nformats++; break;
        case 'f': so.format = HWJ_JWS_JSON_FLAT, nformats++; break;
        case OPT_IN: in_path = optarg; break;
        case 'x': allow_extractable = 1; break;
        default: return cli_usage_error(CMD);
        }
    }
    if (optind < argc) {
        cli_say(CMD, "unexpected argument '%s' (the payload is read from stdin or --in)",
                argv[optind]);
        return cli_usage_error(CMD);
    }
    if (uri == NULL) {
        cli_say(CMD, "--key URI is required");
        return cli_usage_error(CMD);
    }
    if (nformats > 1) {
        cli_say(CMD, "give at most one of --json and --json-flat");
        return cli_usage_error(CMD);
    }
    if ((ret = cli_read_input(CMD, in_path, &in, &inlen)) != CLI_OK)
        goto out;
    if ((ret = cli_key_open(CMD, uri, allow_extractable, &ctx, &key)) != CLI_OK)
        goto out;
    if ((rc = hwj_jws_sign(key, in, inlen, &so, &jws, &err)) != HWJ_OK) {
        ret = cli_fail(CMD, rc, &err);
        if (rc == HWJ_ERR_ARG && so.header_json != NULL &&
            (so.alg != HWJ_ALG_UNKNOWN || hwj_key_default_alg(key) != HWJ_ALG_UNKNOWN))
            cli_hint(CMD, "--alg, --kid and --no-b64 set alg, kid, b64 and crit; --header "
                          "carries the other members");
        else
            cli_sign_hints(CMD, rc, key, so.alg, allow_extractable);
        goto out;
    }
    ret = cli_write(CMD, jws, strlen(jws), 1);
out:
    hwj_free(jws);
    cli_free_input(in, inlen);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}
