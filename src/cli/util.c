/* util.c: shared CLI helpers; see util.h. */
#include "cli/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* "hwjose <cmd>: <what><message>\n" on stderr. */
static void say(const char *cmd, const char *what, const char *fmt, va_list ap) HWJ_PRINTF(3, 0);
static void say(const char *cmd, const char *what, const char *fmt, va_list ap)
{
    fprintf(stderr, "hwjose %s: %s", cmd, what);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_say(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, "", fmt, ap);
    va_end(ap);
}

int cli_exit_code(hwj_err rc)
{
    switch (rc) {
    case HWJ_OK: return CLI_OK;
    case HWJ_ERR_ARG:
    case HWJ_ERR_PARSE:
    case HWJ_ERR_LIMIT:
    case HWJ_ERR_IO: return CLI_USAGE;
    default: break;
    }
    /* Verifying: SIGNATURE, CLAIMS, POLICY, KEY_NOT_FOUND, KEY_AMBIGUOUS, DECRYPT, UNSUPPORTED
     * (e.g. an unknown crit) mean "not accepted". Signing: the operation failed. Anything
     * else (out of memory, a token failure) fails closed with 1 too. */
    return CLI_INVALID;
}

int cli_fail(const char *cmd, hwj_err rc, const hwj_error *err)
{
    cli_say(cmd, "%s", err != NULL && err->message[0] ? err->message : hwj_err_str(rc));
    return cli_exit_code(rc);
}

void cli_hint(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(cmd, "hint: ", fmt, ap);
    va_end(ap);
}

/* A key that is missing, ambiguous or cannot do something: `hwjose keys` shows what is there. */
static void keys_hint(const char *cmd, hwj_err rc, const char *uri)
{
    if (rc != HWJ_ERR_KEY_NOT_FOUND && rc != HWJ_ERR_KEY_AMBIGUOUS && rc != HWJ_ERR_CAPABILITY)
        return;
    if (uri != NULL && strncmp(uri, "pkcs11:", 7) == 0)
        cli_hint(cmd, "`hwjose keys --token pkcs11:` lists the tokens and what each key can "
                      "do; `--token 'pkcs11:token=LABEL'` one token's keys");
    else if (uri != NULL && strncmp(uri, "tpm2:", 5) == 0)
        cli_hint(cmd, "`hwjose keys --token tpm2:` lists the TPM's keys and what each can do");
}

void cli_sign_hints(const char *cmd, hwj_err rc, const hwj_key *key, hwj_alg alg,
                    int allow_extractable)
{
    const hwj_custody *c = hwj_key_get0_custody(key);
    if (rc == HWJ_ERR_ARG && alg == HWJ_ALG_UNKNOWN && hwj_key_default_alg(key) == HWJ_ALG_UNKNOWN)
        cli_hint(cmd, "choose the alg with --alg");
    else if (rc == HWJ_ERR_POLICY && !allow_extractable && c != NULL && c->hardware == 1 &&
             c->extractable == 1)
        cli_hint(cmd, "--allow-extractable signs with it anyway, if a key that can leave its "
                      "token is acceptable");
    else
        keys_hint(cmd, rc, hwj_key_get0_uri(key));
}

/* Only for the refusals the hint is about: a policy refusal can also be a key set's (oct beside
 * asymmetric keys, private beside public) or a serialization's, where --alg changes nothing. */
void cli_verify_hints(const char *cmd, hwj_err rc, const hwj_error *err)
{
    if (err == NULL)
        return;
    if (rc == HWJ_ERR_CLAIMS && strstr(err->message, "give the expected typ") != NULL)
        cli_hint(cmd, "--typ TYP accepts that typ (--profile at+jwt for RFC 9068 access tokens)");
    if (rc != HWJ_ERR_POLICY)
        return;
    if (strstr(err->message, "allow-list") != NULL)
        cli_hint(cmd, "if the token's alg is expected, accept it with --alg (repeat for several)");
    else if (strstr(err->message, "JSON serialization where the compact one is expected") != NULL)
        cli_hint(cmd, "--json accepts the JSON serializations");
}

int cli_getopt(const char *cmd, int argc, char **argv, const struct option *options)
{
    opterr = 0; /* the CLI words its own errors */
    int opt = getopt_long(argc, argv, "+:h", options, NULL);
    if (opt == '?' || opt == ':') {
        const char *arg = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        if (opt == ':')
            cli_say(cmd, "%s needs a value", arg);
        else if (optopt != 0 && strncmp(arg, "--", 2) != 0)
            cli_say(cmd, "unknown option '-%c'", optopt);
        else
            cli_say(cmd, "unknown option '%s'", arg);
        return '?';
    }
    return opt;
}

int cli_usage_error(const char *cmd)
{
    fprintf(stderr, "run `hwjose %s --help` for the options\n", cmd);
    return CLI_USAGE;
}

/* --- input ----------------------------------------------------------------------------- */

void cli_free_input(uint8_t *buf, size_t len)
{
    hwj_free_secret(buf, len + 1);
}

int cli_read_input(const char *cmd, const char *path, uint8_t **out, size_t *len)
{
    static int stdin_used; /* '-' means stdin for every file argument, but stdin is read once */
    int from_stdin = path == NULL || strcmp(path, "-") == 0;
    FILE *f = from_stdin ? stdin : fopen(path, "rb");
    const char *name = from_stdin ? "stdin" : path;
    size_t cap = 64 * 1024, n = 0, r;
    uint8_t *buf = NULL, *nb;
    int ret = CLI_USAGE;

    if (from_stdin && stdin_used++) {
        cli_say(cmd, "stdin ('-') is already read for another input; give one of them as a file "
                     "(e.g. the token with --in FILE where the command has it)");
        return CLI_USAGE;
    }
    if (f == NULL) {
        cli_say(cmd, "cannot open '%s': %s", path, strerror(errno));
        return CLI_USAGE;
    }
    if ((buf = malloc(cap + 1)) == NULL)
        goto nomem;
    for (;;) {
        if (n == cap) {
            if (cap > CLI_MAX_INPUT) {
                cli_say(cmd, "%s is larger than %zu MiB; hwjose refuses inputs that large", name,
                        CLI_MAX_INPUT >> 20);
                goto out;
            }
            size_t ncap = cap * 2 > CLI_MAX_INPUT + 1 ? CLI_MAX_INPUT + 1 : cap * 2;
            if ((nb = malloc(ncap + 1)) == NULL)
                goto nomem;
            memcpy(nb, buf, n);
            hwj_free_secret(buf, cap + 1); /* payloads may be secret: never leave copies */
            buf = nb;
            cap = ncap;
        }
        if ((r = fread(buf + n, 1, cap - n, f)) == 0)
            break;
        n += r;
    }
    if (ferror(f)) {
        cli_say(cmd, "reading %s failed: %s", name, strerror(errno));
        goto out;
    }
    if (n > CLI_MAX_INPUT) {
        cli_say(cmd, "%s is larger than %zu MiB; hwjose refuses inputs that large", name,
                CLI_MAX_INPUT >> 20);
        goto out;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    ret = CLI_OK;
    goto out;
nomem:
    cli_say(cmd, "out of memory reading %s", name);
out:
    if (buf != NULL)
        hwj_free_secret(buf, cap + 1);
    if (!from_stdin)
        fclose(f);
    return ret;
}

/* --- options --------------------------------------------------------------------------- */

int cli_alg_add(const char *cmd, const char *name, hwj_alg *algs, size_t *n)
{
    hwj_alg a = hwj_alg_from_name(name);
    if (a == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(a) != HWJ_ALG_KIND_JWS) {
        cli_say(cmd,
                "'%s' is not a JWS alg hwjose accepts; use one of HS256 HS384 HS512 RS256 RS384 "
                "RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA Ed25519 (\"none\" never)",
                name);
        return CLI_USAGE;
    }
    if (*n >= CLI_MAX_LIST) {
        cli_say(cmd, "too many --alg options (at most %d)", CLI_MAX_LIST);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < *n; i++)
        if (algs[i] == a)
            return CLI_OK;
    algs[(*n)++] = a;
    return CLI_OK;
}

int cli_duration(const char *cmd, const char *opt, const char *text, int64_t *seconds)
{
    hwj_error err = {0};
    if (hwj_duration_parse(text, seconds, &err) != HWJ_OK) {
        cli_say(cmd, "%s: %s", opt, err.message);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_uint(const char *cmd, const char *opt, const char *text, unsigned long max,
             unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v > max || text[0] == '-') {
        cli_say(cmd, "%s: '%s' is not a whole number from 0 to %lu", opt, text, max);
        return CLI_USAGE;
    }
    *out = v;
    return CLI_OK;
}

/* --- keys ------------------------------------------------------------------------------ */

int cli_key_open(const char *cmd, const char *uri, int allow_extractable, hwj_ctx **ctx,
                 hwj_key **key)
{
    hwj_key_open_opts o = {.size = sizeof(hwj_key_open_opts),
                           .allow_extractable = allow_extractable};
    hwj_error err = {0};
    hwj_err rc;

    if (*ctx == NULL && (rc = hwj_ctx_new(ctx, &err)) != HWJ_OK)
        return cli_fail(cmd, rc, &err);
    if ((rc = hwj_key_open(*ctx, uri, &o, key, &err)) != HWJ_OK) {
        int ret = cli_fail(cmd, rc, &err);
        keys_hint(cmd, rc, uri);
        /* a URI scheme or key type this build cannot use is the user's to fix */
        return rc == HWJ_ERR_UNSUPPORTED ? CLI_USAGE : ret;
    }
    return CLI_OK;
}

int cli_verify_option(const char *cmd, cli_verify_keys *vk, int opt, const char *arg)
{
    switch (opt) {
    case CLI_OPT_JWK: vk->jwk_path = arg; return 1;
    case CLI_OPT_JWKS: vk->jwks_path = arg; return 1;
    case CLI_OPT_ALG: return cli_alg_add(cmd, arg, vk->algs, &vk->nalgs) == CLI_OK ? 1 : -1;
    case CLI_OPT_JWKS_URI: vk->jwks_uri = arg; return 1;
    case CLI_OPT_ISSUER: vk->issuer = arg; return 1;
    case CLI_OPT_ALLOW_HTTP: vk->allow_http = 1; return 1;
    case CLI_OPT_JWKS_CA: vk->jwks_ca = arg; return 1;
    case CLI_OPT_IN: vk->in_path = arg; return 1;
    default: return 0;
    }
}

/* No --alg: the algs every key is bound to by its own "alg" (RFC 8725 §3.1: the accepted
 * algs are explicit; a key's "alg" is, and hwj_jwk_check keeps each key to its own). */
static int algs_from_keys(const char *cmd, cli_verify_keys *vk)
{
    size_t n = hwj_jwks_count(vk->set);
    for (size_t i = 0; i < n; i++) {
        const hwj_jwk *k = hwj_jwks_get0(vk->set, i);
        hwj_alg a = hwj_jwk_get_alg(k);
        if (hwj_alg_get_kind(a) == HWJ_ALG_KIND_KM)
            continue; /* an encryption key (a service's JWKS has them): bound to a JWE alg, it
                         never verifies a JWS and adds no JWS alg */
        if (a == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(a) != HWJ_ALG_KIND_JWS) {
            const char *kid = hwj_jwk_get0_kid(k);
            cli_say(cmd,
                    "give --alg: the %s%s%s has no JWS \"alg\" to bind it, and the accepted "
                    "algorithms must be explicit (RFC 8725)",
                    kid ? "key with kid '" : "key", kid ? kid : "", kid ? "'" : "");
            return CLI_USAGE;
        }
        if (cli_alg_add(cmd, hwj_alg_name(a), vk->algs, &vk->nalgs) != CLI_OK)
            return CLI_USAGE;
    }
    if (vk->nalgs == 0) {
        cli_say(cmd, "the key set holds no signing key (only encryption keys)");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* --jwks-uri: one fetch through the JWKS cache (https, or http to loopback unless
 * --allow-http; bounded size and time; --jwks-ca for a private CA); --issuer: the same, at
 * the jwks_uri the issuer's OpenID configuration names. */
static int load_jwks_uri(const char *cmd, cli_verify_keys *vk)
{
#ifdef HWJ_WITH_CURL
    hwj_jwks_cache_opts o = {
        .size = sizeof(hwj_jwks_cache_opts), .allow_http = vk->allow_http, .ca_file = vk->jwks_ca};
    hwj_error err = {0};
    hwj_err rc;

    if (vk->issuer != NULL) {
        if ((rc = hwj_jwks_cache_discover(vk->issuer, &o, &vk->cache, &err)) != HWJ_OK) {
            cli_fail(cmd, rc, &err);
            /* a refused URL is an input error; an unreachable or foreign issuer is not */
            return rc == HWJ_ERR_ARG || rc == HWJ_ERR_POLICY ? CLI_USAGE : CLI_INVALID;
        }
    } else if ((rc = hwj_jwks_cache_new(vk->jwks_uri, &o, &vk->cache, &err)) != HWJ_OK) {
        cli_fail(cmd, rc, &err);
        if (rc == HWJ_ERR_POLICY && !vk->allow_http && strncmp(vk->jwks_uri, "http:", 5) == 0)
            cli_hint(cmd, "--allow-http fetches over plain http, on a network you trust");
        return CLI_USAGE; /* a refused URL is an input error */
    }
    if ((rc = hwj_jwks_cache_get1(vk->cache, NULL, &vk->snap, &err)) != HWJ_OK)
        return cli_fail(cmd, rc, &err);
    vk->set = (hwj_jwks *)hwj_jwks_snapshot_get0_set(vk->snap); /* borrowed, read only */
    return CLI_OK;
#else
    cli_say(cmd, "'%s': this hwjose was built without libcurl (HWJ_WITH_CURL)",
            vk->issuer ? vk->issuer : vk->jwks_uri);
    return CLI_USAGE;
#endif
}

/* cli_read_input has said why; the caller's error path reports this as an input error. */
static hwj_err stdin_failed(hwj_error *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->code = HWJ_ERR_IO;
        snprintf(err->message, sizeof(err->message), "reading the key from stdin failed");
    }
    return HWJ_ERR_IO;
}

hwj_err cli_jwk_read(const char *cmd, const char *path, hwj_jwk **out, hwj_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hwj_err rc;

    if (strcmp(path, "-") != 0)
        return hwj_jwk_read_file(path, out, err);
    if (cli_read_input(cmd, path, &buf, &len) != CLI_OK)
        return stdin_failed(err);
    rc = hwj_jwk_parse((const char *)buf, len, out, err);
    cli_free_input(buf, len);
    return rc;
}

hwj_err cli_jwks_read(const char *cmd, const char *path, hwj_jwks **out, hwj_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hwj_err rc;

    if (strcmp(path, "-") != 0)
        return hwj_jwks_read_file(path, out, err);
    if (cli_read_input(cmd, path, &buf, &len) != CLI_OK)
        return stdin_failed(err);
    rc = hwj_jwks_parse((const char *)buf, len, out, err);
    cli_free_input(buf, len);
    return rc;
}

int cli_verify_load(const char *cmd, cli_verify_keys *vk)
{
    hwj_error err = {0};
    hwj_jwk *jwk = NULL;
    hwj_err rc;

    int remote = vk->jwks_uri != NULL || vk->issuer != NULL;
    if ((vk->jwk_path != NULL) + (vk->jwks_path != NULL) + (vk->jwks_uri != NULL) +
            (vk->issuer != NULL) !=
        1) {
        cli_say(cmd, "give the verification key(s): exactly one of --jwk FILE, --jwks FILE or "
                     "--jwks-uri URL (jwt verify: or --issuer URL)");
        return CLI_USAGE;
    }
    if ((vk->allow_http || vk->jwks_ca != NULL) && !remote) {
        cli_say(cmd, "--allow-http and --jwks-ca only go with --jwks-uri or --issuer");
        return CLI_USAGE;
    }
    if (remote) {
        int ret = load_jwks_uri(cmd, vk);
        if (ret != CLI_OK)
            return ret;
    } else if (vk->jwk_path != NULL) {
        if ((rc = cli_jwk_read(cmd, vk->jwk_path, &jwk, &err)) != HWJ_OK ||
            (rc = hwj_jwks_new(&vk->set, &err)) != HWJ_OK ||
            (rc = hwj_jwks_add(vk->set, jwk, &err)) != HWJ_OK) {
            if (vk->set == NULL)
                hwj_jwk_free(jwk); /* hwj_jwks_add frees it itself on failure */
            cli_fail(cmd, rc, &err);
            return CLI_USAGE; /* an unusable key file is an input error */
        }
    } else if ((rc = cli_jwks_read(cmd, vk->jwks_path, &vk->set, &err)) != HWJ_OK) {
        cli_fail(cmd, rc, &err);
        if (rc == HWJ_ERR_PARSE)
            cli_hint(cmd, "a file holding a single JWK goes with --jwk FILE");
        return CLI_USAGE; /* an unusable key file is an input error */
    }
    if (hwj_jwks_count(vk->set) == 0) {
        cli_say(cmd, "the key set '%s' is empty",
                vk->jwks_uri    ? vk->jwks_uri
                : vk->issuer    ? vk->issuer
                : vk->jwks_path ? vk->jwks_path
                                : vk->jwk_path);
        return CLI_USAGE;
    }
    return vk->nalgs > 0 ? CLI_OK : algs_from_keys(cmd, vk);
}

void cli_verify_keys_free(cli_verify_keys *vk)
{
    if (vk->snap == NULL)
        hwj_jwks_free(vk->set);
#ifdef HWJ_WITH_CURL
    hwj_jwks_snapshot_free(vk->snap);
    hwj_jwks_cache_free(vk->cache);
    vk->snap = NULL;
    vk->cache = NULL;
#endif
    vk->set = NULL;
}

/* --- output ---------------------------------------------------------------------------- */

int cli_write(const char *cmd, const void *data, size_t len, int newline)
{
    if ((len > 0 && fwrite(data, 1, len, stdout) != len) || (newline && putchar('\n') == EOF) ||
        fflush(stdout) != 0) {
        cli_say(cmd, "writing stdout failed: %s", strerror(errno));
        return CLI_INVALID;
    }
    return CLI_OK;
}
