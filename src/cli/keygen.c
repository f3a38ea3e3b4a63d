/* keygen.c: `hwjose keygen` (a key pair generated inside a token or TPM) and `hwjose keys`
 * (what a token or TPM holds). Generic over backends: hwj_key_generate / hwj_keys_list. */
#include "cli/cli.h"
#include "cli/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void keygen_usage(FILE *out)
{
    fprintf(out,
            "usage: hwjose keygen --key URI --alg ALG [--bits N]\n"
            "  Generates a key pair inside the token or TPM named by URI and prints its public\n"
            "  JWK (kid = RFC 7638 thumbprint). The private key is created sensitive and\n"
            "  non-extractable, usable only for ALG's operation. Fails if the name is taken.\n"
            "  URI:  pkcs11:token=T;object=NAME[?pin-source=file:PATH&module-path=M] | tpm2:...\n"
            "  ALG:  ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384 PS512 EdDSA Ed25519\n"
            "        RSA-OAEP RSA-OAEP-256 ECDH-ES\n"
            "  --bits: RSA modulus size (default 3072); for ECDH-ES the curve (256, 384, 521).\n"
            "  The PIN comes from the URI's pin-source or $HWJOSE_PIN, never from argv.\n");
}

static void keys_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose keys [--token URI] [--json]\n"
        "       hwjose keys rotate|versions --config FILE --key NAME (see `keys rotate --help`)\n"
        "  Lists the private keys of a token (default: every token of the default PKCS#11\n"
        "  module, URI 'pkcs11:') or TPM: URI, kid, type, usable algs, custody and notes.\n"
        "  --json prints the list as JSON. The PIN comes from pin-source or $HWJOSE_PIN.\n");
}

static const char *const KEYGEN = "keygen", *const KEYS = "keys";

enum { OPT_KEY = CLI_OPT_FIRST_FREE_, OPT_ALG, OPT_BITS, OPT_TOKEN, OPT_JSON };

static const struct option keygen_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"alg", required_argument, NULL, OPT_ALG},
    {"bits", required_argument, NULL, OPT_BITS},
    {NULL, 0, NULL, 0},
};

int cmd_keygen(int argc, char **argv)
{
    const char *uri = NULL, *alg_name = NULL;
    unsigned long bits = 0;
    hwj_keygen_opts opts = HWJ_KEYGEN_OPTS_INIT;
    hwj_error err = {0};
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    char *jwk = NULL;
    hwj_err rc;
    int ret = CLI_INVALID, opt;

    optind = 0;
    while ((opt = cli_getopt(KEYGEN, argc, argv, keygen_options)) != -1) {
        switch (opt) {
        case 'h': keygen_usage(stdout); return CLI_OK;
        case OPT_KEY: uri = optarg; break;
        case OPT_ALG: alg_name = optarg; break;
        case OPT_BITS:
            if (cli_uint(KEYGEN, "--bits", optarg, 16384, &bits) != CLI_OK)
                return cli_usage_error(KEYGEN);
            if (bits == 0) {
                cli_say(KEYGEN, "--bits needs a positive number");
                return cli_usage_error(KEYGEN);
            }
            break;
        default: return cli_usage_error(KEYGEN);
        }
    }
    if (optind < argc) {
        cli_say(KEYGEN, "unexpected argument '%s'", argv[optind]);
        return cli_usage_error(KEYGEN);
    }
    if (uri == NULL || alg_name == NULL) {
        cli_say(KEYGEN, "--key and --alg are required");
        return cli_usage_error(KEYGEN);
    }
    if ((opts.alg = hwj_alg_from_name(alg_name)) == HWJ_ALG_UNKNOWN) {
        cli_say(KEYGEN, "unknown alg '%s'", alg_name);
        return cli_usage_error(KEYGEN);
    }
    opts.bits = (unsigned)bits;
    if ((rc = hwj_ctx_new(&ctx, &err)) != HWJ_OK ||
        (rc = hwj_key_generate(ctx, uri, &opts, &key, &err)) != HWJ_OK ||
        (rc = hwj_key_public_jwk(key, &jwk, &err)) != HWJ_OK) {
        ret = cli_fail(KEYGEN, rc, &err);
        goto out;
    }
    if ((ret = cli_write(KEYGEN, jwk, strlen(jwk), 1)) != CLI_OK)
        goto out;
    fprintf(stderr, "hwjose keygen: %s key generated in '%s', kid %s\n", alg_name,
            hwj_key_get0_uri(key), hwj_key_get0_kid(key));
    ret = CLI_OK;
out:
    hwj_free(jwk);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}

/* "sensitive,always_sensitive,never_extractable,local"; a missing guarantee is shouted. */
static void custody_summary(const json_t *c, char *buf, size_t len)
{
    static const char *const good[] = {"sensitive", "always_sensitive", "never_extractable",
                                       "local"};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]) && used < len; i++) {
        const json_t *v = json_object_get(c, good[i]);
        if (json_is_true(v) || json_is_false(v))
            used += (size_t)snprintf(buf + used, len - used, "%s%s%s", used ? "," : "",
                                     json_is_true(v) ? "" : "NOT-", good[i]);
    }
    if (used < len && json_is_true(json_object_get(c, "extractable")))
        snprintf(buf + used, len - used, "%sEXTRACTABLE", used ? "," : "");
}

static void print_table(const json_t *list)
{
    size_t i;
    const json_t *k;
    if (json_array_size(list) == 0) {
        printf("(no private keys)\n");
        return;
    }
    json_array_foreach(list, i, k)
    {
        const char *uri = json_string_value(json_object_get(k, "uri"));
        const char *err = json_string_value(json_object_get(k, "error"));
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *crv = json_string_value(json_object_get(k, "crv"));
        const char *notes = json_string_value(json_object_get(k, "notes"));
        json_int_t bits = json_integer_value(json_object_get(k, "bits"));
        const json_t *algs = json_object_get(k, "algs"), *a;
        char custody[160];
        size_t j;

        printf("%s\n", uri ? uri : "?");
        if (err != NULL) {
            printf("  unusable: %s\n", err);
            continue;
        }
        if (crv != NULL)
            printf("  kid %s  %s %s\n", kid ? kid : "?", kty ? kty : "?", crv);
        else
            printf("  kid %s  %s %lld bits\n", kid ? kid : "?", kty ? kty : "?", (long long)bits);
        printf("  algs:");
        if (json_array_size(algs) == 0)
            printf(" (none)");
        json_array_foreach(algs, j, a) printf(" %s", json_string_value(a));
        custody_summary(json_object_get(k, "custody"), custody, sizeof(custody));
        printf("\n  custody: %s\n", custody[0] ? custody : "unknown");
        if (notes != NULL && *notes != '\0')
            printf("  notes: %s\n", notes);
        if (json_is_true(json_object_get(k, "roca")))
            printf("  WARNING: ROCA-vulnerable RSA key (CVE-2017-15361): its private key can be "
                   "computed from the public key; hwjose refuses to open it\n");
    }
}

static const struct option keys_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

int cmd_keys(int argc, char **argv)
{
    const char *uri = NULL;
    int as_json = 0, ret = CLI_INVALID, opt;
    if (argc > 1 && (strcmp(argv[1], "rotate") == 0 || strcmp(argv[1], "versions") == 0))
        return cmd_keys_store(argc - 1, argv + 1);
    hwj_error err = {0};
    hwj_ctx *ctx = NULL;
    char *text = NULL;
    json_t *list = NULL;
    hwj_err rc;

    optind = 0;
    while ((opt = cli_getopt(KEYS, argc, argv, keys_options)) != -1) {
        switch (opt) {
        case 'h': keys_usage(stdout); return CLI_OK;
        case OPT_JSON: as_json = 1; break;
        case OPT_TOKEN: uri = optarg; break;
        default: return cli_usage_error(KEYS);
        }
    }
    if (optind < argc) {
        cli_say(KEYS, "unexpected argument '%s'", argv[optind]);
        return cli_usage_error(KEYS);
    }
    if (uri == NULL) {
#ifdef HWJ_WITH_PKCS11
        uri = "pkcs11:";
#else
        cli_say(KEYS, "--token URI is required in this build");
        return CLI_USAGE;
#endif
    }
    if ((rc = hwj_ctx_new(&ctx, &err)) != HWJ_OK ||
        (rc = hwj_keys_list(ctx, uri, NULL, &text, &err)) != HWJ_OK) {
        ret = cli_fail(KEYS, rc, &err);
        goto out;
    }
    if (as_json) {
        printf("%s\n", text);
    } else if ((list = json_loads(text, 0, NULL)) != NULL) {
        print_table(list);
    } else {
        cli_say(KEYS, "internal error formatting the list");
        goto out;
    }
    ret = CLI_OK;
out:
    json_decref(list);
    hwj_free(text);
    hwj_ctx_free(ctx);
    return ret;
}
