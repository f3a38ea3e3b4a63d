/* jwks.c: `hwjose jwks` (the public JWK set of opened keys, to publish for verifiers) and
 * `hwjose thumbprint` (a JWK's RFC 7638 thumbprint). */
#include "cli/util.h"

#include <jansson.h>
#include <string.h>

static void jwks_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose jwks --key URI [--alg ALG] [--key URI [--alg ALG]]...\n"
        "  Prints the public JWK set {\"keys\":[...]} of the keys, each with its kid (its own,\n"
        "  else its RFC 7638 thumbprint), and \"alg\" and \"use\" when the key is bound to one\n"
        "  alg (as keygen, keys and the service print it).\n"
        "  --alg ALG        publish the preceding --key for ALG only: sets its \"alg\" and "
        "\"use\"\n"
        "                   (sig or enc), so verifiers need no --alg; must suit the key type.\n"
        "  URI: pkcs11:..., tpm2:..., jwk:PATH, file:PATH. Private parts are never printed.\n"
        "  The PIN comes from the URI's pin-source or $HWJOSE_PIN only.\n"
        "  Exit: 0 printed, 1 a key could not be used, 2 usage or input error.\n");
}

static void thumbprint_usage(FILE *out)
{
    fprintf(out, "usage: hwjose thumbprint --jwk FILE\n"
                 "  Prints the RFC 7638 JWK thumbprint (SHA-256, base64url) of the JWK in FILE.\n"
                 "  Exit: 0 printed, 2 usage or input error.\n");
}

enum { OPT_KEY = CLI_OPT_FIRST_FREE_, OPT_ALG };

static const struct option jwks_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"alg", required_argument, NULL, OPT_ALG},
    {NULL, 0, NULL, 0},
};

static int seen(const json_t *keys, const json_t *jwk)
{
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k) if (json_equal(k, jwk)) return 1;
    return 0;
}

/* Two different keys under one kid would make every verifier's choice ambiguous. */
static int check_kid(const json_t *keys, const json_t *jwk, const char *uri)
{
    const char *kid = json_string_value(json_object_get(jwk, "kid"));
    size_t i;
    const json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *other = json_string_value(json_object_get(k, "kid"));
        if (kid != NULL && other != NULL && strcmp(kid, other) == 0 && !json_equal(k, jwk)) {
            cli_say("jwks", "'%s' has the kid '%s' of another key; give each key its own kid", uri,
                    kid);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

/* Bind `jwk` to `alg` ("alg" and "use"); the key's own alg, if any, must agree. */
static int bind_alg(json_t *jwk, const char *alg, const char *uri)
{
    hwj_alg a = hwj_alg_from_name(alg);
    hwj_alg_kind kind = hwj_alg_get_kind(a);
    const char *own = json_string_value(json_object_get(jwk, "alg"));
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *need = hwj_kty_name(hwj_alg_kty(a));
    if (kind != HWJ_ALG_KIND_JWS && kind != HWJ_ALG_KIND_KM) {
        cli_say("jwks", "--alg '%s' is not a JWS or JWE key-management alg", alg);
        return CLI_USAGE;
    }
    if (!need || !kty || strcmp(need, kty) != 0) {
        cli_say("jwks", "--alg %s needs a %s key; '%s' is %s", alg, need ? need : "symmetric", uri,
                kty ? kty : "of unknown type");
        return CLI_USAGE;
    }
    if (own && strcmp(own, alg) != 0) {
        cli_say("jwks", "'%s' is bound to alg %s, not %s", uri, own, alg);
        return CLI_USAGE;
    }
    if (json_object_set_new(jwk, "alg", json_string(alg)) != 0 ||
        json_object_set_new(jwk, "use", json_string(kind == HWJ_ALG_KIND_JWS ? "sig" : "enc")) !=
            0) {
        cli_say("jwks", "out of memory");
        return CLI_INVALID;
    }
    return CLI_OK;
}

/* Append the public JWK of the key at `uri` (bound to `alg` unless NULL) to `keys`. */
static int add_key(hwj_ctx **ctx, const char *uri, const char *alg, json_t *keys)
{
    hwj_key *key = NULL;
    hwj_error err = {0};
    char *text = NULL;
    json_t *jwk = NULL;
    hwj_err rc;
    int ret;

    if ((ret = cli_key_open("jwks", uri, 0, ctx, &key)) != CLI_OK)
        return ret;
    if ((rc = hwj_key_public_jwk(key, &text, &err)) != HWJ_OK) {
        ret = cli_fail("jwks", rc, &err);
    } else if ((jwk = json_loads(text, JSON_REJECT_DUPLICATES, NULL)) == NULL) {
        cli_say("jwks", "internal error building the set for '%s'", uri);
        ret = CLI_INVALID;
    } else if ((alg && (ret = bind_alg(jwk, alg, uri)) != CLI_OK) ||
               (ret = check_kid(keys, jwk, uri)) != CLI_OK || seen(keys, jwk)) {
        json_decref(jwk); /* a key given twice is listed once */
    } else if (json_array_append_new(keys, jwk) != 0) {
        cli_say("jwks", "out of memory");
        ret = CLI_INVALID;
    }
    hwj_free(text);
    hwj_key_free(key);
    return ret;
}

int cmd_jwks(int argc, char **argv)
{
    const char *uris[CLI_MAX_LIST], *algs[CLI_MAX_LIST] = {0};
    size_t nuris = 0;
    hwj_ctx *ctx = NULL;
    json_t *set = NULL, *keys = json_array();
    char *text = NULL;
    int ret = CLI_USAGE, opt;

    optind = 0;
    while ((opt = cli_getopt("jwks", argc, argv, jwks_options)) != -1) {
        switch (opt) {
        case 'h':
            jwks_usage(stdout);
            ret = CLI_OK;
            goto out;
        case OPT_KEY:
            if (nuris == CLI_MAX_LIST) {
                cli_say("jwks", "too many --key (at most %d)", CLI_MAX_LIST);
                goto out;
            }
            uris[nuris++] = optarg;
            break;
        case OPT_ALG:
            if (nuris == 0 || algs[nuris - 1]) {
                cli_say("jwks", "--alg applies to the --key before it (one --alg per --key)");
                goto out;
            }
            algs[nuris - 1] = optarg;
            break;
        default: ret = cli_usage_error("jwks"); goto out;
        }
    }
    if (optind < argc || nuris == 0) {
        cli_say("jwks", optind < argc ? "unexpected argument" : "give at least one --key URI");
        ret = cli_usage_error("jwks");
        goto out;
    }
    if (keys == NULL) {
        ret = CLI_INVALID;
        goto out;
    }
    for (size_t i = 0; i < nuris; i++)
        if ((ret = add_key(&ctx, uris[i], algs[i], keys)) != CLI_OK)
            goto out;
    if ((set = json_pack("{sO}", "keys", keys)) == NULL ||
        (text = json_dumps(set, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
        cli_say("jwks", "out of memory");
        ret = CLI_INVALID;
        goto out;
    }
    ret = cli_write("jwks", text, strlen(text), 1);
out:
    free(text);
    json_decref(set);
    json_decref(keys);
    hwj_ctx_free(ctx);
    return ret;
}

enum { OPT_JWK = CLI_OPT_FIRST_FREE_ };

static const struct option thumbprint_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"jwk", required_argument, NULL, OPT_JWK},
    {NULL, 0, NULL, 0},
};

int cmd_thumbprint(int argc, char **argv)
{
    const char *path = NULL;
    hwj_jwk *jwk = NULL;
    char *tp = NULL;
    hwj_error err = {0};
    hwj_err rc;
    int ret, opt;

    optind = 0;
    while ((opt = cli_getopt("thumbprint", argc, argv, thumbprint_options)) != -1) {
        switch (opt) {
        case 'h': thumbprint_usage(stdout); return CLI_OK;
        case OPT_JWK: path = optarg; break;
        default: return cli_usage_error("thumbprint");
        }
    }
    if (optind < argc || path == NULL) {
        cli_say("thumbprint", "give --jwk FILE");
        return cli_usage_error("thumbprint");
    }
    if ((rc = cli_jwk_read("thumbprint", path, &jwk, &err)) != HWJ_OK ||
        (rc = hwj_jwk_thumbprint(jwk, &tp, &err)) != HWJ_OK) {
        cli_fail("thumbprint", rc, &err);
        ret = CLI_USAGE; /* the JWK file is the only input */
        goto out;
    }
    ret = cli_write("thumbprint", tp, strlen(tp), 1);
out:
    hwj_free(tp);
    hwj_jwk_free(jwk);
    return ret;
}
