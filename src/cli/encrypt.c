/* encrypt.c: `hwjose encrypt` and `hwjose decrypt` (JWE), stdin to stdout. */
#include "cli/cli.h"
#include "cli/util.h"

#include <stdlib.h>
#include <string.h>

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
        "                      [--max-p2c N] [--max-inflated BYTES] [--header] [--json]\n"
        "                      [--allow-extractable]\n"
        "  Decrypts the JWE on stdin (compact; --json: the JSON serializations too) and\n"
        "  writes the plaintext to stdout.\n"
        "  --key: an asymmetric private key (pkcs11:, tpm2:, jwk:, file:); the PIN comes\n"
        "  from the URI's pin-source or $HWJOSE_PIN. --jwk: an oct key (A*KW, A*GCMKW, dir).\n"
        "  Without --alg, the algs the key can do are allowed (never RSA1_5); without --enc,\n"
        "  all six content encryptions. --header prints the JOSE header to stderr.\n"
        "  --allow-extractable: decrypt with a token key that is marked extractable.\n"
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

/* A JWE alg (kind KM) or enc (kind ENC) named `name` for option `opt`. CLI_OK or CLI_USAGE. */
static int parse_alg(const char *cmd, const char *opt, const char *name, hwj_alg_kind kind,
                     hwj_alg *out)
{
    hwj_alg a = hwj_alg_from_name(name);
    if (a == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(a) != kind) {
        cli_say(cmd, "%s '%s' is not a JWE %s", opt, name,
                kind == HWJ_ALG_KIND_KM ? "key management alg" : "content encryption");
        return CLI_USAGE;
    }
    *out = a;
    return CLI_OK;
}

static const char *const ENCRYPT = "encrypt";

enum {
    OPT_JWK = CLI_OPT_FIRST_FREE_,
    OPT_ALG,
    OPT_ENC,
    OPT_JSON,
    OPT_FLAT,
    OPT_ZIP,
    OPT_CTY,
    OPT_KID,
    OPT_PASSWORD_FILE,
    OPT_P2C,
    OPT_KEY,
    OPT_CRIT,
    OPT_ALLOW_RSA1_5,
    OPT_MAX_P2C,
    OPT_MAX_INFLATED,
    OPT_HEADER,
    OPT_ALLOW_EXTRACTABLE,
};

static const struct option encrypt_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"jwk", required_argument, NULL, OPT_JWK},
    {"alg", required_argument, NULL, OPT_ALG},
    {"enc", required_argument, NULL, OPT_ENC},
    {"json", no_argument, NULL, OPT_JSON},
    {"flat", no_argument, NULL, OPT_FLAT},
    {"zip", no_argument, NULL, OPT_ZIP},
    {"cty", required_argument, NULL, OPT_CTY},
    {"kid", required_argument, NULL, OPT_KID},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"p2c", required_argument, NULL, OPT_P2C},
    {NULL, 0, NULL, 0},
};

int cmd_encrypt(int argc, char **argv)
{
    const char *jwk_path = NULL, *pw_path = NULL;
    hwj_jwe_recipient r = HWJ_JWE_RECIPIENT_INIT;
    hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A256GCM};
    hwj_jwk *jwk = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0, pwlen = 0;
    char *pw = NULL, *out = NULL;
    unsigned long v;
    hwj_error err = {0};
    hwj_err rc;
    int ret = CLI_USAGE, opt;

    optind = 0;
    while ((opt = cli_getopt(ENCRYPT, argc, argv, encrypt_options)) != -1) {
        switch (opt) {
        case 'h': encrypt_usage(stdout); return CLI_OK;
        case OPT_JWK: jwk_path = optarg; break;
        case OPT_ALG:
            if (parse_alg(ENCRYPT, "--alg", optarg, HWJ_ALG_KIND_KM, &r.alg) != CLI_OK)
                return cli_usage_error(ENCRYPT);
            break;
        case OPT_ENC:
            if (parse_alg(ENCRYPT, "--enc", optarg, HWJ_ALG_KIND_ENC, &eo.enc) != CLI_OK)
                return cli_usage_error(ENCRYPT);
            break;
        case OPT_JSON: eo.format = HWJ_JWE_JSON; break;
        case OPT_FLAT: eo.format = HWJ_JWE_JSON_FLAT; break;
        case OPT_ZIP: eo.zip = 1; break;
        case OPT_CTY: eo.cty = optarg; break;
        case OPT_KID: r.kid = optarg; break;
        case OPT_PASSWORD_FILE: pw_path = optarg; break;
        case OPT_P2C:
            if (cli_uint(ENCRYPT, "--p2c", optarg, UINT32_MAX, &v) != CLI_OK)
                return cli_usage_error(ENCRYPT);
            r.p2c = (uint32_t)v;
            break;
        default: return cli_usage_error(ENCRYPT);
        }
    }
    if (optind < argc) {
        cli_say(ENCRYPT, "unexpected argument '%s' (the plaintext is read from stdin)",
                argv[optind]);
        return cli_usage_error(ENCRYPT);
    }
    if (r.alg == HWJ_ALG_UNKNOWN || (jwk_path == NULL) == (pw_path == NULL)) {
        cli_say(ENCRYPT, "--alg and one of --jwk or --password-file are needed");
        return cli_usage_error(ENCRYPT);
    }
    if (jwk_path != NULL && (rc = cli_jwk_read(ENCRYPT, jwk_path, &jwk, &err)) != HWJ_OK) {
        cli_fail(ENCRYPT, rc, &err);
        goto out; /* an unusable key file is an input error */
    }
    if (pw_path != NULL && (pw = read_secret_file(ENCRYPT, pw_path, &pwlen)) == NULL)
        goto out;
    if (cli_read_input(ENCRYPT, NULL, &in, &inlen) != CLI_OK)
        goto out;
    r.jwk = jwk;
    r.password = pw;
    r.password_len = pwlen;
    if ((rc = hwj_jwe_encrypt(&r, 1, in, inlen, &eo, &out, &err)) != HWJ_OK) {
        ret = cli_fail(ENCRYPT, rc, &err);
        goto out;
    }
    ret = cli_write(ENCRYPT, out, strlen(out), 1);
out:
    hwj_free(out);
    hwj_free_secret(in, inlen);
    hwj_free_secret(pw, pwlen);
    hwj_jwk_free(jwk);
    return ret;
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

static const char *const DECRYPT = "decrypt";

static const struct option decrypt_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"jwk", required_argument, NULL, OPT_JWK},
    {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
    {"alg", required_argument, NULL, OPT_ALG},
    {"enc", required_argument, NULL, OPT_ENC},
    {"crit", required_argument, NULL, OPT_CRIT},
    {"allow-rsa1_5", no_argument, NULL, OPT_ALLOW_RSA1_5},
    {"max-p2c", required_argument, NULL, OPT_MAX_P2C},
    {"max-inflated", required_argument, NULL, OPT_MAX_INFLATED},
    {"header", no_argument, NULL, OPT_HEADER},
    {"allow-extractable", no_argument, NULL, OPT_ALLOW_EXTRACTABLE},
    {"json", no_argument, NULL, OPT_JSON},
    {NULL, 0, NULL, 0},
};

int cmd_decrypt(int argc, char **argv)
{
    const char *uri = NULL, *jwk_path = NULL, *pw_path = NULL, *crit[CLI_MAX_LIST];
    hwj_alg algs[HWJ_ALG_COUNT_], encs[CLI_MAX_LIST];
    hwj_jwe_decrypt_opts o = HWJ_JWE_DECRYPT_OPTS_INIT;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_jwk *jwk = NULL;
    hwj_jwe_result *res = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0, pwlen = 0, nalgs = 0, nencs = 0, ncrit = 0;
    char *pw = NULL;
    int show_header = 0, allow_extractable = 0, ret = CLI_USAGE, opt;
    unsigned long v;
    hwj_error err = {0};
    hwj_err rc;

    optind = 0;
    while ((opt = cli_getopt(DECRYPT, argc, argv, decrypt_options)) != -1) {
        switch (opt) {
        case 'h': decrypt_usage(stdout); return CLI_OK;
        case OPT_KEY: uri = optarg; break;
        case OPT_JWK: jwk_path = optarg; break;
        case OPT_PASSWORD_FILE: pw_path = optarg; break;
        case OPT_ALG:
            if (nalgs == CLI_MAX_LIST ||
                parse_alg(DECRYPT, "--alg", optarg, HWJ_ALG_KIND_KM, &algs[nalgs++]) != CLI_OK)
                return cli_usage_error(DECRYPT);
            break;
        case OPT_ENC:
            if (nencs == CLI_MAX_LIST ||
                parse_alg(DECRYPT, "--enc", optarg, HWJ_ALG_KIND_ENC, &encs[nencs++]) != CLI_OK)
                return cli_usage_error(DECRYPT);
            break;
        case OPT_CRIT:
            if (ncrit == CLI_MAX_LIST) {
                cli_say(DECRYPT, "at most %d --crit", CLI_MAX_LIST);
                return cli_usage_error(DECRYPT);
            }
            crit[ncrit++] = optarg;
            break;
        case OPT_ALLOW_RSA1_5: o.allow_rsa1_5 = 1; break;
        case OPT_MAX_P2C:
            if (cli_uint(DECRYPT, "--max-p2c", optarg, UINT32_MAX, &v) != CLI_OK)
                return cli_usage_error(DECRYPT);
            o.max_p2c = (uint32_t)v;
            break;
        case OPT_MAX_INFLATED:
            if (cli_uint(DECRYPT, "--max-inflated", optarg, 1ul << 30, &v) != CLI_OK)
                return cli_usage_error(DECRYPT);
            o.max_inflated = v;
            break;
        case OPT_HEADER: show_header = 1; break;
        case OPT_ALLOW_EXTRACTABLE: allow_extractable = 1; break;
        case OPT_JSON: o.allow_json = 1; break;
        default: return cli_usage_error(DECRYPT);
        }
    }
    if (optind < argc) {
        cli_say(DECRYPT, "unexpected argument '%s' (the JWE is read from stdin)", argv[optind]);
        return cli_usage_error(DECRYPT);
    }
    if ((uri != NULL) + (jwk_path != NULL) + (pw_path != NULL) != 1) {
        cli_say(DECRYPT, "give exactly one of --key, --jwk, --password-file");
        return cli_usage_error(DECRYPT);
    }
    if (uri != NULL && (ret = cli_key_open(DECRYPT, uri, allow_extractable, &ctx, &key)) != CLI_OK)
        goto out;
    ret = CLI_USAGE;
    if (jwk_path != NULL && (rc = cli_jwk_read(DECRYPT, jwk_path, &jwk, &err)) != HWJ_OK) {
        cli_fail(DECRYPT, rc, &err);
        goto out; /* an unusable key file is an input error */
    }
    if (pw_path != NULL && (pw = read_secret_file(DECRYPT, pw_path, &pwlen)) == NULL)
        goto out;
    if (nalgs == 0)
        nalgs = default_algs(key, jwk, pw != NULL, algs);
    if (nencs == 0)
        for (int e = HWJ_ENC_A128CBC_HS256; e <= HWJ_ENC_A256GCM; e++)
            encs[nencs++] = (hwj_alg)e;
    if (cli_read_input(DECRYPT, NULL, &in, &inlen) != CLI_OK)
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
        ret = cli_fail(DECRYPT, rc, &err);
        if (rc == HWJ_ERR_POLICY && !o.allow_json &&
            strstr(err.message, "JSON serialization") != NULL)
            cli_hint(DECRYPT, "--json accepts the JSON serializations");
        goto out;
    }
    if (show_header)
        fprintf(stderr, "%s\n", res->header_json);
    ret = cli_write(DECRYPT, res->plaintext, res->plaintext_len, 0);
out:
    hwj_jwe_result_free(res);
    hwj_free_secret(in, inlen);
    hwj_free_secret(pw, pwlen);
    hwj_jwk_free(jwk);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}
