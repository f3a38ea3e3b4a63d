/* verify.c: `hwjose verify` — the JWS on stdin, its payload on stdout when it verifies
 * under an explicit alg allow-list with keys the caller names (never keys from the JWS). */
#include "cli/util.h"

#include <string.h>

static const char *const CMD = "verify";

static void verify_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose verify (--jwk FILE | --jwks FILE | --jwks-uri URL) [--alg ALG]...\n"
        "                     [--payload FILE] [--json]\n"
        "  Verifies the compact JWS on stdin and writes its payload to stdout.\n"
        "  --json           accept the JSON serializations (general, flattened) too.\n"
        "  --jwk FILE       the verification key, a JWK (public; oct for HS*).\n"
        "  --jwks FILE      a JWK set; the key is chosen by the JWS's kid, else by type and\n"
        "                   alg (an ambiguous choice is an error).\n"
        "  --jwks-uri URL   fetch the set from the issuer's jwks_uri: https (plain http only\n"
        "                   to a loopback host, or with --allow-http), bounded size and time,\n"
        "                   no redirects; --jwks-ca FILE trusts a private CA (PEM).\n"
        "  --alg ALG        an accepted alg; repeat for several. Without --alg, each key's\n"
        "                   own \"alg\" is accepted for that key, and a key without \"alg\" is\n"
        "                   an error (RFC 8725: the accepted algs are explicit). \"none\" is\n"
        "                   never accepted.\n"
        "  --payload FILE   the payload of a detached JWS.\n"
        "  --in FILE        read the JWS from FILE instead of stdin. Every FILE may be '-'\n"
        "                   (stdin), once: e.g. --jwks - --in token.jws.\n"
        "  The jwk/jku/x5u/x5c header parameters are never used to find the key.\n"
        "  Exit: 0 valid, 1 invalid (reason on stderr), 2 usage or input error.\n");
}

enum { OPT_PAYLOAD = CLI_OPT_FIRST_FREE_, OPT_JSON };

static const struct option verify_options[] = {
    {"help", no_argument, NULL, 'h'},
    CLI_VERIFY_LONG_OPTIONS,
    {"payload", required_argument, NULL, OPT_PAYLOAD},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

int cmd_verify(int argc, char **argv)
{
    cli_verify_keys vk = {0};
    hwj_verify_policy policy = HWJ_VERIFY_POLICY_INIT;
    const char *payload_path = NULL;
    uint8_t *in = NULL, *detached = NULL;
    size_t inlen = 0, detached_len = 0;
    hwj_jws_result *res = NULL;
    hwj_error err = {0};
    hwj_err rc;
    int ret, opt, handled;

    optind = 0;
    while ((opt = cli_getopt(CMD, argc, argv, verify_options)) != -1) {
        if ((handled = cli_verify_option(CMD, &vk, opt, optarg)) < 0)
            return CLI_USAGE;
        if (handled)
            continue;
        switch (opt) {
        case 'h': verify_usage(stdout); return CLI_OK;
        case OPT_PAYLOAD: payload_path = optarg; break;
        case OPT_JSON: policy.allow_json = 1; break;
        default: return cli_usage_error(CMD);
        }
    }
    if (optind < argc) {
        cli_say(CMD, "unexpected argument '%s' (the JWS is read from stdin)", argv[optind]);
        return cli_usage_error(CMD);
    }
    if ((ret = cli_verify_load(CMD, &vk)) != CLI_OK)
        goto out;
    if (payload_path != NULL &&
        (ret = cli_read_input(CMD, payload_path, &detached, &detached_len)) != CLI_OK)
        goto out;
    if ((ret = cli_read_input(CMD, vk.in_path, &in, &inlen)) != CLI_OK)
        goto out;
    /* A trailing newline (from echo or a file) is not part of a compact JWS. */
    while (inlen > 0 && (in[inlen - 1] == '\n' || in[inlen - 1] == '\r'))
        in[--inlen] = '\0';
    policy.algs = vk.algs;
    policy.nalgs = vk.nalgs;
    policy.max_size = CLI_MAX_INPUT; /* the caller chose this file: the CLI's bound, not 1 MiB */
    rc = hwj_jws_verify((const char *)in, inlen, vk.set, &policy, detached, detached_len, &res,
                        &err);
    if (rc != HWJ_OK) {
        ret = cli_fail(CMD, rc, &err);
        cli_verify_hints(CMD, rc, &err);
        goto out;
    }
    ret = cli_write(CMD, res->payload, res->payload_len, 0);
out:
    hwj_jws_result_free(res);
    cli_free_input(in, inlen);
    cli_free_input(detached, detached_len);
    cli_verify_keys_free(&vk);
    return ret;
}
