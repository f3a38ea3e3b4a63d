/* dpop.c: `hwjose dpop proof|verify` — RFC 9449 proofs made with a key in a token or TPM, and
 * checked the way a resource server checks them. `verify` reads one proof per line and checks
 * them all against one replay cache, so a replayed jti within a batch is refused. */
#include "cli/util.h"

#include <stdlib.h>
#include <string.h>

static void dpop_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose dpop proof --key URI --htm METHOD --htu URL [--ath ACCESS_TOKEN]\n"
        "                         [--nonce NONCE] [--alg ALG] [--allow-extractable]\n"
        "       hwjose dpop verify --htm METHOD --htu URL [--access-token TOKEN] [--jkt JKT]\n"
        "                          [--nonce NONCE] [--alg ALG]... [--max-age DURATION]\n"
        "                          [--leeway DURATION] [--in FILE]\n"
        "  proof   writes a DPoP proof (RFC 9449) for one request to stdout: typ dpop+jwt, the\n"
        "          key's public JWK in the header, a fresh jti, iat, htm, htu (normalised),\n"
        "          ath when --ath gives the access token, and the server's --nonce.\n"
        "  verify  reads proofs, one per line, from stdin (or FILE) and checks each: typ, an\n"
        "          asymmetric alg (--alg narrows the list), a public jwk that verifies it,\n"
        "          htm, htu, iat within --max-age (default 5m) and --leeway (5s) ahead, ath\n"
        "          against --access-token, the key's thumbprint against --jkt (the token's\n"
        "          cnf.jkt), the --nonce, and no jti twice. Prints one JSON line per proof:\n"
        "          {\"jkt\",\"alg\",\"jwk\",\"claims\"}.\n"
        "  Exit: 0 done (every proof accepted), 1 refused, 2 usage or input error.\n");
}

enum {
    OPT_KEY = CLI_OPT_FIRST_FREE_,
    OPT_HTM,
    OPT_HTU,
    OPT_ATH,
    OPT_NONCE,
    OPT_ALG,
    OPT_JKT,
    OPT_MAX_AGE,
    OPT_LEEWAY,
    OPT_IN,
    OPT_EXTRACTABLE,
};

static const struct option dpop_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"htm", required_argument, NULL, OPT_HTM},
    {"htu", required_argument, NULL, OPT_HTU},
    {"ath", required_argument, NULL, OPT_ATH},
    {"access-token", required_argument, NULL, OPT_ATH},
    {"nonce", required_argument, NULL, OPT_NONCE},
    {"alg", required_argument, NULL, OPT_ALG},
    {"jkt", required_argument, NULL, OPT_JKT},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"leeway", required_argument, NULL, OPT_LEEWAY},
    {"in", required_argument, NULL, OPT_IN},
    {"allow-extractable", no_argument, NULL, OPT_EXTRACTABLE},
    {NULL, 0, NULL, 0},
};

struct dpop_args {
    const char *key, *htm, *htu, *token, *nonce, *jkt, *in;
    hwj_alg algs[CLI_MAX_LIST];
    size_t nalgs;
    int64_t max_age, leeway;
    int allow_extractable;
};

static int parse_args(const char *cmd, int argc, char **argv, struct dpop_args *a)
{
    int opt;

    optind = 0;
    while ((opt = cli_getopt(cmd, argc, argv, dpop_options)) != -1) {
        switch (opt) {
        case 'h': dpop_usage(stdout); return -1;
        case OPT_KEY: a->key = optarg; break;
        case OPT_HTM: a->htm = optarg; break;
        case OPT_HTU: a->htu = optarg; break;
        case OPT_ATH: a->token = optarg; break;
        case OPT_NONCE: a->nonce = optarg; break;
        case OPT_JKT: a->jkt = optarg; break;
        case OPT_IN: a->in = optarg; break;
        case OPT_EXTRACTABLE: a->allow_extractable = 1; break;
        case OPT_ALG:
            if (cli_alg_add(cmd, optarg, a->algs, &a->nalgs) != CLI_OK)
                return CLI_USAGE;
            break;
        case OPT_MAX_AGE:
            if (cli_duration(cmd, "--max-age", optarg, &a->max_age) != CLI_OK)
                return CLI_USAGE;
            break;
        case OPT_LEEWAY:
            if (cli_duration(cmd, "--leeway", optarg, &a->leeway) != CLI_OK)
                return CLI_USAGE;
            if (a->leeway == 0)
                a->leeway = -1; /* 0 means "none" here, not the default */
            break;
        default: return cli_usage_error(cmd);
        }
    }
    if (optind < argc) {
        cli_say(cmd, "unexpected argument '%s'", argv[optind]);
        return cli_usage_error(cmd);
    }
    if (a->htm == NULL || a->htu == NULL) {
        cli_say(cmd, "--htm METHOD and --htu URL are required");
        return cli_usage_error(cmd);
    }
    return CLI_OK;
}

static int dpop_proof(int argc, char **argv)
{
    static const char *const cmd = "dpop proof";
    struct dpop_args a = {0};
    hwj_dpop_proof_opts po = HWJ_DPOP_PROOF_OPTS_INIT;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    char *proof = NULL;
    hwj_error err = {0};
    hwj_err rc;
    int ret;

    if ((ret = parse_args(cmd, argc, argv, &a)) != CLI_OK)
        return ret < 0 ? CLI_OK : ret;
    if (a.key == NULL) {
        cli_say(cmd, "--key URI is required");
        return cli_usage_error(cmd);
    }
    if (a.nalgs > 1 || a.jkt != NULL || a.in != NULL || a.max_age != 0 || a.leeway != 0) {
        cli_say(cmd, "--jkt, --in, --max-age, --leeway and a second --alg are for `dpop verify`");
        return cli_usage_error(cmd);
    }
    if ((ret = cli_key_open(cmd, a.key, a.allow_extractable, &ctx, &key)) != CLI_OK)
        goto out;
    po.size = sizeof(po);
    po.htm = a.htm;
    po.htu = a.htu;
    po.access_token = a.token;
    po.nonce = a.nonce;
    po.alg = a.nalgs == 1 ? a.algs[0] : HWJ_ALG_UNKNOWN;
    if ((rc = hwj_dpop_proof(key, &po, &proof, &err)) != HWJ_OK) {
        ret = cli_fail(cmd, rc, &err);
        cli_sign_hints(cmd, rc, key, po.alg, a.allow_extractable);
        goto out;
    }
    ret = cli_write(cmd, proof, strlen(proof), 1);
out:
    hwj_free(proof);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}

/* One accepted proof as a JSON line appended to *buf. */
static int append_result(const hwj_dpop_result *r, char **buf, size_t *len)
{
    const char *alg = hwj_alg_name(r->alg);
    size_t n = strlen(r->jkt) + strlen(alg) + strlen(r->jwk_json) + strlen(r->claims_json) + 48;
    char *nb = realloc(*buf, *len + n);
    if (nb == NULL)
        return -1;
    *buf = nb;
    *len +=
        (size_t)snprintf(nb + *len, n, "{\"jkt\":\"%s\",\"alg\":\"%s\",\"jwk\":%s,\"claims\":%s}\n",
                         r->jkt, alg, r->jwk_json, r->claims_json);
    return 0;
}

static int dpop_verify(int argc, char **argv)
{
    static const char *const cmd = "dpop verify";
    struct dpop_args a = {0};
    hwj_dpop_verify_opts vo = HWJ_DPOP_VERIFY_OPTS_INIT;
    hwj_dpop_replay *replay = NULL;
    hwj_dpop_result *res = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0, outlen = 0, index = 0;
    char *outbuf = NULL, *line, *save = NULL;
    hwj_error err = {0};
    hwj_err rc;
    int ret;

    if ((ret = parse_args(cmd, argc, argv, &a)) != CLI_OK)
        return ret < 0 ? CLI_OK : ret;
    if (a.key != NULL || a.allow_extractable) {
        cli_say(cmd, "a proof carries its own public key: --key is for `dpop proof`");
        return cli_usage_error(cmd);
    }
    if ((ret = cli_read_input(cmd, a.in, &in, &inlen)) != CLI_OK)
        goto out;
    if ((rc = hwj_dpop_replay_new(0, a.max_age, a.leeway, &replay, &err)) != HWJ_OK) {
        ret = cli_fail(cmd, rc, &err);
        goto out;
    }
    vo.size = sizeof(vo);
    vo.algs = a.nalgs > 0 ? a.algs : NULL;
    vo.nalgs = a.nalgs;
    vo.htm = a.htm;
    vo.htu = a.htu;
    vo.access_token = a.token;
    vo.jkt = a.jkt;
    vo.nonce = a.nonce;
    vo.max_age = a.max_age;
    vo.leeway = a.leeway;
    vo.replay = replay;
    ret = CLI_OK;
    for (line = strtok_r((char *)in, " \t\r\n", &save); line != NULL;
         line = strtok_r(NULL, " \t\r\n", &save)) {
        index++;
        if ((rc = hwj_dpop_verify(line, &vo, &res, &err)) != HWJ_OK) {
            cli_say(cmd, "proof %zu: %s", index, err.message[0] ? err.message : hwj_err_str(rc));
            /* a proof that is not even a JWT is refused like any other: the input was read */
            ret = CLI_INVALID;
            continue;
        }
        if (append_result(res, &outbuf, &outlen) != 0) {
            cli_say(cmd, "out of memory");
            ret = CLI_INVALID;
        }
        hwj_dpop_result_free(res);
        res = NULL;
    }
    if (index == 0) {
        cli_say(cmd, "no proof on the input (one compact JWS per line)");
        ret = CLI_USAGE;
    }
    if (ret == CLI_OK)
        ret = cli_write(cmd, outbuf, outlen, 0);
out:
    free(outbuf);
    hwj_dpop_replay_free(replay);
    cli_free_input(in, inlen);
    return ret;
}

int cmd_dpop(int argc, char **argv)
{
    if (argc < 2) {
        dpop_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        dpop_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "proof") == 0)
        return dpop_proof(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return dpop_verify(argc - 1, argv + 1);
    fprintf(stderr, "hwjose dpop: unknown subcommand '%s'; use `dpop proof` or `dpop verify`\n",
            argv[1]);
    return CLI_USAGE;
}
