/* encrypt.c: `hwjose encrypt` and `hwjose decrypt` (JWE), stdin to stdout. */
#include "cli/cli.h"
#include "cli/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 32

static void encrypt_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose encrypt --jwk FILE --alg ALG [--enc ENC] [--json|--flat] [--zip]\n"
        "                      [--cty CTY] [--kid KID] [--password-file FILE] [--p2c N]\n"
        "  Encrypts stdin to the public (or oct) JWK in FILE and writes the JWE to stdout.\n"
        "  ALG: RSA-OAEP RSA-OAEP-256 ECDH-ES ECDH-ES+A128KW|A192KW|A256KW A128KW|A192KW|A256KW\n"
        "       A128GCMKW|A192GCMKW|A256GCMKW dir PBES2-HS256+A128KW|HS384+A192KW|HS512+A256KW\n"
        "  ENC: A128GCM A192GCM A256GCM (default) A128CBC-HS256 A192CBC-HS384 A256CBC-HS512\n"
        "  PBES2 reads the password from --password-file (never from the command line).\n");
}

static void decrypt_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose decrypt (--key URI | --jwk FILE | --password-file FILE)\n"
        "                      [--alg ALG]... [--enc ENC]... [--allow-rsa1_5] [--crit NAME]...\n"
        "                      [--max-p2c N] [--max-inflated BYTES] [--header]\n"
        "  Decrypts the JWE on stdin and writes the plaintext to stdout.\n"
        "  --key: an asymmetric private key (pkcs11:, tpm2:, jwk:, file:); the PIN comes\n"
        "  from the URI's pin-source or $HWJOSE_PIN. --jwk: an oct key (A*KW, A*GCMKW, dir).\n"
        "  Without --alg, the algs the key can do are allowed (never RSA1_5); without --enc,\n"
        "  all six content encryptions. --header prints the JOSE header to stderr.\n"
        "  Exit: 0 decrypted, 1 decryption failed or refused, 2 usage or input error.\n");
}

/* The first line of a file, without its newline: a password. NULL (said why) on failure. */
static char *read_secret_file(const char *cmd, const char *path, size_t *len)
{
    uint8_t *buf = NULL;
    size_t n = 0;
    if (cli_read_input(cmd, path, &buf, &n) != CLI_OK)
        return NULL;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    *len = n;
    return (char *)buf;
}

static int exit_for(hwj_err rc)
{
    switch (rc) {
    case HWJ_OK: return CLI_OK;
    case HWJ_ERR_ARG:
    case HWJ_ERR_PARSE:
    case HWJ_ERR_LIMIT:
    case HWJ_ERR_IO: return CLI_USAGE;
    default: return CLI_INVALID;
    }
}

static int parse_alg(const char *name, hwj_alg_kind kind, hwj_alg *out)
{
    hwj_alg a = hwj_alg_from_name(name);
    if (a == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(a) != kind) {
        fprintf(stderr, "hwjose: '%s' is not a JWE %s; see --help\n", name,
                kind == HWJ_ALG_KIND_KM ? "alg" : "enc");
        return -1;
    }
    *out = a;
    return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max || s[0] == '-') {
        fprintf(stderr, "hwjose: '%s' is not a number up to %lu\n", s, max);
        return -1;
    }
    *out = v;
    return 0;
}

#define NEED_ARG()                                                                                 \
    do {                                                                                           \
        if (i + 1 >= argc) {                                                                       \
            fprintf(stderr, "hwjose %s: %s needs a value\n", argv[0], argv[i]);                    \
            goto usage;                                                                            \
        }                                                                                          \
    } while (0)

int cmd_encrypt(int argc, char **argv)
{
    const char *jwk_path = NULL, *pw_path = NULL;
    hwj_jwe_recipient r = {0};
    hwj_jwe_encrypt_opts eo = {.enc = HWJ_ENC_A256GCM};
    hwj_jwk *jwk = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0, pwlen = 0;
    char *pw = NULL, *out = NULL;
    unsigned long v;
    hwj_error err = {0};
    hwj_err rc;
    int ret = CLI_USAGE;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            encrypt_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--jwk") == 0) {
            NEED_ARG();
            jwk_path = argv[++i];
        } else if (strcmp(argv[i], "--alg") == 0) {
            NEED_ARG();
            if (parse_alg(argv[++i], HWJ_ALG_KIND_KM, &r.alg) != 0)
                goto usage;
        } else if (strcmp(argv[i], "--enc") == 0) {
            NEED_ARG();
            if (parse_alg(argv[++i], HWJ_ALG_KIND_ENC, &eo.enc) != 0)
                goto usage;
        } else if (strcmp(argv[i], "--json") == 0) {
            eo.format = HWJ_JWE_JSON;
        } else if (strcmp(argv[i], "--flat") == 0) {
            eo.format = HWJ_JWE_JSON_FLAT;
        } else if (strcmp(argv[i], "--zip") == 0) {
            eo.zip = 1;
        } else if (strcmp(argv[i], "--cty") == 0) {
            NEED_ARG();
            eo.cty = argv[++i];
        } else if (strcmp(argv[i], "--kid") == 0) {
            NEED_ARG();
            r.kid = argv[++i];
        } else if (strcmp(argv[i], "--password-file") == 0) {
            NEED_ARG();
            pw_path = argv[++i];
        } else if (strcmp(argv[i], "--p2c") == 0) {
            NEED_ARG();
            if (parse_uint(argv[++i], UINT32_MAX, &v) != 0)
                goto usage;
            r.p2c = (uint32_t)v;
        } else {
            fprintf(stderr, "hwjose encrypt: unknown option '%s'\n", argv[i]);
            goto usage;
        }
    }
    if (r.alg == HWJ_ALG_UNKNOWN || (jwk_path == NULL) == (pw_path == NULL)) {
        fprintf(stderr, "hwjose encrypt: --alg and one of --jwk or --password-file are needed\n");
        goto usage;
    }
    if (jwk_path != NULL && (rc = hwj_jwk_read_file(jwk_path, &jwk, &err)) != HWJ_OK) {
        fprintf(stderr, "hwjose encrypt: %s\n", err.message);
        goto out;
    }
    if (pw_path != NULL && (pw = read_secret_file("encrypt", pw_path, &pwlen)) == NULL)
        goto out;
    if (cli_read_input("encrypt", NULL, &in, &inlen) != CLI_OK)
        goto out;
    r.jwk = jwk;
    r.password = pw;
    r.password_len = pwlen;
    if ((rc = hwj_jwe_encrypt(&r, 1, in, inlen, &eo, &out, &err)) != HWJ_OK) {
        fprintf(stderr, "hwjose encrypt: %s\n", err.message);
        ret = exit_for(rc);
        goto out;
    }
    if (printf("%s\n", out) < 0 || fflush(stdout) != 0) {
        fprintf(stderr, "hwjose encrypt: writing stdout failed\n");
        ret = CLI_INVALID;
        goto out;
    }
    ret = CLI_OK;
out:
    hwj_free(out);
    hwj_free_secret(in, inlen);
    hwj_free_secret(pw, pwlen);
    hwj_jwk_free(jwk);
    return ret;
usage:
    encrypt_usage(stderr);
    return CLI_USAGE;
}

/* Default allow-list: what the key can do (never RSA1_5). */
static size_t default_algs(hwj_key *key, const hwj_jwk *jwk, int password, hwj_alg *algs)
{
    size_t n = 0;
    for (int a = HWJ_ALG_RSA1_5; a <= HWJ_ALG_PBES2_HS512_A256KW; a++) {
        hwj_kty kty = hwj_alg_kty((hwj_alg)a);
        int pbes2 = a >= HWJ_ALG_PBES2_HS256_A128KW;
        if (a == HWJ_ALG_RSA1_5)
            continue;
        if ((key != NULL && hwj_key_can(key, (hwj_alg)a)) ||
            (jwk != NULL && !pbes2 && kty == HWJ_KTY_OCT) || (password && pbes2))
            algs[n++] = (hwj_alg)a;
    }
    return n;
}

int cmd_decrypt(int argc, char **argv)
{
    const char *uri = NULL, *jwk_path = NULL, *pw_path = NULL, *crit[MAX_LIST];
    hwj_alg algs[HWJ_ALG_COUNT_], encs[MAX_LIST];
    hwj_jwe_decrypt_opts o = {0};
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_jwk *jwk = NULL;
    hwj_jwe_result *res = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0, pwlen = 0, nalgs = 0, nencs = 0, ncrit = 0;
    char *pw = NULL;
    int show_header = 0, ret = CLI_USAGE;
    unsigned long v;
    hwj_error err = {0};
    hwj_err rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            decrypt_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--key") == 0) {
            NEED_ARG();
            uri = argv[++i];
        } else if (strcmp(argv[i], "--jwk") == 0) {
            NEED_ARG();
            jwk_path = argv[++i];
        } else if (strcmp(argv[i], "--password-file") == 0) {
            NEED_ARG();
            pw_path = argv[++i];
        } else if (strcmp(argv[i], "--alg") == 0) {
            NEED_ARG();
            if (nalgs == MAX_LIST || parse_alg(argv[++i], HWJ_ALG_KIND_KM, &algs[nalgs++]) != 0)
                goto usage;
        } else if (strcmp(argv[i], "--enc") == 0) {
            NEED_ARG();
            if (nencs == MAX_LIST || parse_alg(argv[++i], HWJ_ALG_KIND_ENC, &encs[nencs++]) != 0)
                goto usage;
        } else if (strcmp(argv[i], "--crit") == 0) {
            NEED_ARG();
            if (ncrit == MAX_LIST)
                goto usage;
            crit[ncrit++] = argv[++i];
        } else if (strcmp(argv[i], "--allow-rsa1_5") == 0) {
            o.allow_rsa1_5 = 1;
        } else if (strcmp(argv[i], "--max-p2c") == 0) {
            NEED_ARG();
            if (parse_uint(argv[++i], UINT32_MAX, &v) != 0)
                goto usage;
            o.max_p2c = (uint32_t)v;
        } else if (strcmp(argv[i], "--max-inflated") == 0) {
            NEED_ARG();
            if (parse_uint(argv[++i], 1ul << 30, &v) != 0)
                goto usage;
            o.max_inflated = v;
        } else if (strcmp(argv[i], "--header") == 0) {
            show_header = 1;
        } else {
            fprintf(stderr, "hwjose decrypt: unknown option '%s'\n", argv[i]);
            goto usage;
        }
    }
    if ((uri != NULL) + (jwk_path != NULL) + (pw_path != NULL) != 1) {
        fprintf(stderr, "hwjose decrypt: give exactly one of --key, --jwk, --password-file\n");
        goto usage;
    }
    if (uri != NULL && ((rc = hwj_ctx_new(&ctx, &err)) != HWJ_OK ||
                        (rc = hwj_key_open(ctx, uri, NULL, &key, &err)) != HWJ_OK)) {
        fprintf(stderr, "hwjose decrypt: %s\n", err.message);
        /* a URI scheme or key type this build cannot use is the user's to fix (docs/cli.md) */
        ret = rc == HWJ_ERR_UNSUPPORTED ? CLI_USAGE : exit_for(rc);
        goto out;
    }
    if (jwk_path != NULL && (rc = hwj_jwk_read_file(jwk_path, &jwk, &err)) != HWJ_OK) {
        fprintf(stderr, "hwjose decrypt: %s\n", err.message);
        goto out;
    }
    if (pw_path != NULL && (pw = read_secret_file("decrypt", pw_path, &pwlen)) == NULL)
        goto out;
    if (nalgs == 0)
        nalgs = default_algs(key, jwk, pw != NULL, algs);
    if (nencs == 0)
        for (int e = HWJ_ENC_A128CBC_HS256; e <= HWJ_ENC_A256GCM; e++)
            encs[nencs++] = (hwj_alg)e;
    if (cli_read_input("decrypt", NULL, &in, &inlen) != CLI_OK)
        goto out;
    o.algs = algs;
    o.nalgs = nalgs;
    o.encs = encs;
    o.nencs = nencs;
    o.key = key;
    o.jwk = jwk;
    o.password = pw;
    o.password_len = pwlen;
    o.crit = crit;
    o.ncrit = ncrit;
    if ((rc = hwj_jwe_decrypt((const char *)in, inlen, &o, &res, &err)) != HWJ_OK) {
        fprintf(stderr, "hwjose decrypt: %s\n", err.message);
        ret = exit_for(rc);
        goto out;
    }
    if (show_header)
        fprintf(stderr, "%s\n", res->header_json);
    if (fwrite(res->plaintext, 1, res->plaintext_len, stdout) != res->plaintext_len ||
        fflush(stdout) != 0) {
        fprintf(stderr, "hwjose decrypt: writing stdout failed\n");
        ret = CLI_INVALID;
        goto out;
    }
    ret = CLI_OK;
out:
    hwj_jwe_result_free(res);
    hwj_free_secret(in, inlen);
    hwj_free_secret(pw, pwlen);
    hwj_jwk_free(jwk);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
usage:
    decrypt_usage(stderr);
    return CLI_USAGE;
}
