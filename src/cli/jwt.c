/* jwt.c: `hwjose jwt issue` (a JWT signed by a key URI) and `hwjose jwt verify` (a JWT on
 * stdin checked against named keys, an explicit alg allow-list, iss, aud and the clock). */
#include "cli/util.h"

#include <jansson.h>
#include <string.h>

static void jwt_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose jwt issue  --key URI --iss ISS --aud AUD [--aud AUD]... [--sub SUB]\n"
        "                         [--exp 15m] [--claim NAME=JSON]... [--alg ALG] [--kid KID]\n"
        "                         [--typ TYP] [--allow-extractable]\n"
        "       hwjose jwt verify (--jwk FILE | --jwks FILE | --jwks-uri URL) --iss ISS --aud AUD\n"
        "                         [--alg ALG]...\n"
        "                         [--leeway 60s] [--max-age D] [--typ TYP] [--sub SUB]\n"
        "       hwjose jwt inspect [--in FILE] [TOKEN]   (alias: decode; UNVERIFIED)\n"
        "`hwjose jwt issue --help`, `hwjose jwt verify --help` and `hwjose jwt inspect --help`\n"
        "describe each.\n");
}

static void issue_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose jwt issue --key URI --iss ISS --aud AUD [--aud AUD]... [--sub SUB]\n"
        "                        [--exp 15m] [--claim NAME=JSON]... [--alg ALG] [--kid KID]\n"
        "                        [--typ TYP] [--allow-extractable]\n"
        "                        [--encrypt-to JWK_FILE [--key-alg ALG] [--enc ENC]]\n"
        "  Issues a JWT signed with the key and writes it to stdout. Claims: iss, sub, aud\n"
        "  (a string for one --aud, an array for several), iat (now), nbf (= iat), exp\n"
        "  (iat + --exp) and a random 128-bit jti. Header: typ \"JWT\" (or --typ), alg, kid.\n"
        "  --key URI        pkcs11:..., tpm2:..., jwk:PATH (private JWK), file:PATH (PEM).\n"
        "                   The PIN comes from the URI's pin-source or $HWJOSE_PIN only.\n"
        "  --exp D          lifetime: 90, 90s, 15m, 12h, 7d (default 15m).\n"
        "  --claim NAME=JSON  an extra claim; the value is strict JSON, so a string needs\n"
        "                   quotes: --claim 'scope=\"read write\"', --claim 'admin=true',\n"
        "                   --claim 'roles=[\"a\",\"b\"]'. The registered claims iss, sub, aud,\n"
        "                   exp, nbf, iat and jti are set by the options above only.\n"
        "  --alg ALG        default: the key's \"alg\", else its natural alg.\n"
        "  --kid KID        default: the key's kid or RFC 7638 thumbprint.\n"
        "  --allow-extractable  sign with a token key that is marked extractable.\n"
        "  --encrypt-to FILE  nested JWT: sign, then encrypt to this public JWK (cty JWT).\n"
        "  --key-alg ALG    its key management: the JWK's \"alg\", else RSA-OAEP-256 for RSA,\n"
        "                   ECDH-ES+A256KW for EC. --enc ENC: content encryption (A256GCM).\n"
        "  Exit: 0 issued, 1 signing failed, 2 usage or input error.\n");
}

static void verify_usage(FILE *out)
{
    fprintf(
        out,
        "usage: hwjose jwt verify (--jwk FILE | --jwks FILE | --jwks-uri URL) --iss ISS --aud AUD\n"
        "                         [--alg ALG]...\n"
        "       hwjose jwt verify --issuer URL --aud AUD [--alg ALG]...\n"
        "                         [--leeway 60s] [--max-age D] [--typ TYP] [--sub SUB]\n"
        "  Verifies the JWT on stdin and writes its claims (JSON) to stdout.\n"
        "  --jwk / --jwks   the verification key(s); with a set, the JWT's kid picks one.\n"
        "  --in FILE        read the JWT from FILE instead of stdin. Every FILE may be '-'\n"
        "                   (stdin), once: e.g. --jwks - --in token.jwt.\n"
        "  --jwks-uri URL   fetch the set from the issuer's jwks_uri: https (plain http only\n"
        "                   to a loopback host, or with --allow-http), bounded size and time,\n"
        "                   no redirects; --jwks-ca FILE trusts a private CA (PEM).\n"
        "  --issuer URL     find the issuer's jwks_uri in URL/.well-known/openid-configuration\n"
        "                   (its \"issuer\" must equal URL), then as --jwks-uri; --iss\n"
        "                   defaults to URL and may not differ from it.\n"
        "  --alg ALG        an accepted alg; repeat for several. Without --alg, each key's\n"
        "                   own \"alg\" is accepted for that key (a key without one is an\n"
        "                   error). \"none\" is never accepted.\n"
        "  --iss ISS        required: the token's iss must equal it.\n"
        "  --aud AUD        required: the token's aud must be it or contain it.\n"
        "  --leeway D       clock skew tolerated on exp, nbf, iat (default 60s).\n"
        "  --max-age D      iat is required and may be at most D old.\n"
        "  --typ TYP        the header's typ must be TYP (default: absent or \"JWT\").\n"
        "  --sub SUB        the token's sub must equal it.\n"
        "  --profile at+jwt an RFC 9068 access token: typ at+jwt, and sub, client_id, iat,\n"
        "                   jti present (a DPoP-bound one's cnf.jkt: `hwjose dpop verify`).\n"
        "  --decrypt-key URI  nested JWT: decrypt with this private key (inside its token),\n"
        "                   then verify the inner JWT; --enc ENC limits the content\n"
        "                   encryption (repeatable; default: any AES-GCM or AES-CBC-HS).\n"
        "  exp is required. Durations: 90, 90s, 15m, 12h, 7d.\n"
        "  Exit: 0 valid, 1 invalid (reason on stderr), 2 usage or input error.\n");
}

/* --- issue ----------------------------------------------------------------------------- */

static const char *const ISSUE = "jwt issue";

enum {
    OPT_KEY = CLI_OPT_FIRST_FREE_,
    OPT_ISS,
    OPT_AUD,
    OPT_SUB,
    OPT_EXP,
    OPT_CLAIM,
    OPT_KID,
    OPT_TYP,
    OPT_LEEWAY,
    OPT_MAX_AGE,
    OPT_ALLOW_EXTRACTABLE,
    OPT_ISSUE_ALG,
    OPT_ENCRYPT_TO,
    OPT_ENC,
    OPT_KEY_ALG,
    OPT_DECRYPT_KEY,
    OPT_PROFILE,
};

static const struct option issue_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"key", required_argument, NULL, OPT_KEY},
    {"iss", required_argument, NULL, OPT_ISS},
    {"aud", required_argument, NULL, OPT_AUD},
    {"sub", required_argument, NULL, OPT_SUB},
    {"exp", required_argument, NULL, OPT_EXP},
    {"claim", required_argument, NULL, OPT_CLAIM},
    {"alg", required_argument, NULL, OPT_ISSUE_ALG},
    {"kid", required_argument, NULL, OPT_KID},
    {"typ", required_argument, NULL, OPT_TYP},
    {"allow-extractable", no_argument, NULL, OPT_ALLOW_EXTRACTABLE},
    {"encrypt-to", required_argument, NULL, OPT_ENCRYPT_TO},
    {"enc", required_argument, NULL, OPT_ENC},
    {"key-alg", required_argument, NULL, OPT_KEY_ALG},
    {NULL, 0, NULL, 0},
};

/* Add "--claim NAME=JSON" to `claims`. CLI_OK or CLI_USAGE (printed). */
static int add_claim(json_t *claims, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char name[256];
    json_error_t jerr;
    json_t *v;

    if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
        cli_say(ISSUE, "--claim '%.64s': write NAME=JSON, e.g. --claim 'scope=\"read\"'", arg);
        return CLI_USAGE;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    if (json_object_get(claims, name) != NULL) {
        cli_say(ISSUE, "--claim %s is given twice", name);
        return CLI_USAGE;
    }
    v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
    if (v == NULL) {
        cli_say(ISSUE,
                "--claim %s: the value is not JSON (%s); a string needs quotes, e.g. "
                "--claim '%s=\"text\"'",
                name, jerr.text, name);
        return CLI_USAGE;
    }
    if (json_object_set_new(claims, name, v) != 0) {
        cli_say(ISSUE, "out of memory");
        return CLI_INVALID;
    }
    return CLI_OK;
}

static int jwt_issue(int argc, char **argv)
{
    const char *uri = NULL, *aud[CLI_MAX_LIST];
    hwj_jwt_issue_opts io = {
        .size = sizeof(hwj_jwt_issue_opts), .aud = aud, .ttl = 15 * 60, .refuse_registered = 1};
    const char *encrypt_to = NULL;
    hwj_jwe_recipient to = HWJ_JWE_RECIPIENT_INIT;
    hwj_jwe_encrypt_opts eo = HWJ_JWE_ENCRYPT_OPTS_INIT;
    hwj_jwk *rcpt = NULL;
    json_t *claims = json_object();
    char *claims_json = NULL, *jwt = NULL;
    int allow_extractable = 0, ret = CLI_USAGE, opt;
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_error err = {0};
    hwj_err rc;

    if (claims == NULL) {
        cli_say(ISSUE, "out of memory");
        return CLI_INVALID;
    }
    optind = 0;
    while ((opt = cli_getopt(ISSUE, argc, argv, issue_options)) != -1) {
        switch (opt) {
        case 'h':
            issue_usage(stdout);
            ret = CLI_OK;
            goto out;
        case OPT_KEY: uri = optarg; break;
        case OPT_ISS: io.iss = optarg; break;
        case OPT_AUD:
            if (io.naud == CLI_MAX_LIST) {
                cli_say(ISSUE, "too many --aud (at most %d)", CLI_MAX_LIST);
                goto out;
            }
            aud[io.naud++] = optarg;
            break;
        case OPT_SUB: io.sub = optarg; break;
        case OPT_EXP:
            if (cli_duration(ISSUE, "--exp", optarg, &io.ttl) != CLI_OK)
                goto out;
            if (io.ttl <= 0) {
                cli_say(ISSUE, "--exp must be longer than 0 seconds");
                goto out;
            }
            break;
        case OPT_CLAIM:
            if ((ret = add_claim(claims, optarg)) != CLI_OK)
                goto out;
            ret = CLI_USAGE;
            break;
        case OPT_ISSUE_ALG:
            io.alg = hwj_alg_from_name(optarg);
            if (io.alg == HWJ_ALG_UNKNOWN || hwj_alg_get_kind(io.alg) != HWJ_ALG_KIND_JWS) {
                cli_say(ISSUE, "'%s' is not a JWS alg; see --help", optarg);
                goto out;
            }
            break;
        case OPT_KID: io.kid = optarg; break;
        case OPT_TYP: io.typ = optarg; break;
        case OPT_ALLOW_EXTRACTABLE: allow_extractable = 1; break;
        case OPT_ENCRYPT_TO: encrypt_to = optarg; break;
        case OPT_ENC:
            if (hwj_alg_get_kind(eo.enc = hwj_alg_from_name(optarg)) != HWJ_ALG_KIND_ENC) {
                cli_say(ISSUE, "--enc '%s' is not a JWE content encryption (e.g. A256GCM)", optarg);
                ret = cli_usage_error(ISSUE);
                goto out;
            }
            break;
        case OPT_KEY_ALG:
            if (hwj_alg_get_kind(to.alg = hwj_alg_from_name(optarg)) != HWJ_ALG_KIND_KM) {
                cli_say(ISSUE, "--key-alg '%s' is not a JWE key management alg", optarg);
                ret = cli_usage_error(ISSUE);
                goto out;
            }
            break;
        default: ret = cli_usage_error(ISSUE); goto out;
        }
    }
    if (optind < argc) {
        cli_say(ISSUE, "unexpected argument '%s'", argv[optind]);
        ret = cli_usage_error(ISSUE);
        goto out;
    }
    if (uri == NULL || io.iss == NULL || io.naud == 0) {
        cli_say(ISSUE, "--key, --iss and --aud are required");
        ret = cli_usage_error(ISSUE);
        goto out;
    }
    if (json_object_size(claims) > 0 &&
        (claims_json = json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL) {
        cli_say(ISSUE, "out of memory");
        ret = CLI_INVALID;
        goto out;
    }
    io.claims_json = claims_json;
    if ((ret = cli_key_open(ISSUE, uri, allow_extractable, &ctx, &key)) != CLI_OK)
        goto out;
    if (encrypt_to != NULL && (rc = cli_jwk_read("jwt issue", encrypt_to, &rcpt, &err)) != HWJ_OK) {
        ret = cli_fail(ISSUE, rc, &err);
        goto out;
    }
    if (rcpt != NULL) {
        to.jwk = rcpt;
        if (to.alg == HWJ_ALG_UNKNOWN)
            to.alg = hwj_jwk_get_alg(rcpt);
        if (to.alg == HWJ_ALG_UNKNOWN)
            to.alg = hwj_jwk_get_kty(rcpt) == HWJ_KTY_RSA ? HWJ_ALG_RSA_OAEP_256
                                                          : HWJ_ALG_ECDH_ES_A256KW;
        rc = hwj_jwt_issue_nested(key, &io, &to, &eo, &jwt, &err);
    } else {
        rc = hwj_jwt_issue(key, &io, &jwt, &err);
    }
    if (rc != HWJ_OK) {
        ret = cli_fail(ISSUE, rc, &err);
        if (rc == HWJ_ERR_ARG && strstr(err.message, "registered claim") != NULL)
            cli_hint(ISSUE, "set iss, sub, aud and exp with --iss, --sub, --aud and --exp; iat, "
                            "nbf and jti are set when signing");
        else
            cli_sign_hints(ISSUE, rc, key, io.alg, allow_extractable);
        goto out;
    }
    ret = cli_write(ISSUE, jwt, strlen(jwt), 1);
out:
    hwj_free(jwt);
    hwj_jwk_free(rcpt);
    free(claims_json);
    json_decref(claims);
    hwj_key_free(key);
    hwj_ctx_free(ctx);
    return ret;
}

/* --- verify ---------------------------------------------------------------------------- */

static const char *const VERIFY = "jwt verify";

static const struct option verify_options[] = {
    {"help", no_argument, NULL, 'h'},
    CLI_VERIFY_LONG_OPTIONS,
    {"issuer", required_argument, NULL, CLI_OPT_ISSUER},
    {"iss", required_argument, NULL, OPT_ISS},
    {"aud", required_argument, NULL, OPT_AUD},
    {"sub", required_argument, NULL, OPT_SUB},
    {"typ", required_argument, NULL, OPT_TYP},
    {"leeway", required_argument, NULL, OPT_LEEWAY},
    {"max-age", required_argument, NULL, OPT_MAX_AGE},
    {"decrypt-key", required_argument, NULL, OPT_DECRYPT_KEY},
    {"enc", required_argument, NULL, OPT_ENC},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {NULL, 0, NULL, 0},
};

static int jwt_verify(int argc, char **argv)
{
    cli_verify_keys vk = {0};
    hwj_jwt_verify_opts vo = {.size = sizeof(hwj_jwt_verify_opts), .leeway = 60};
    hwj_verify_policy policy = HWJ_VERIFY_POLICY_INIT;
    const char *decrypt_key = NULL;
    hwj_alg encs[CLI_MAX_LIST], kms[8];
    size_t nencs = 0, nkms = 0;
    hwj_ctx *ctx = NULL;
    hwj_key *dkey = NULL;
    uint8_t *in = NULL;
    size_t inlen = 0;
    char *claims = NULL;
    hwj_error err = {0};
    hwj_err rc;
    int ret, opt, handled;

    optind = 0;
    while ((opt = cli_getopt(VERIFY, argc, argv, verify_options)) != -1) {
        if ((handled = cli_verify_option(VERIFY, &vk, opt, optarg)) < 0)
            return CLI_USAGE;
        if (handled)
            continue;
        switch (opt) {
        case 'h': verify_usage(stdout); return CLI_OK;
        case OPT_ISS: vo.iss = optarg; break;
        case OPT_AUD:
            if (vo.aud != NULL) {
                cli_say(VERIFY, "give one --aud: the audience this verifier is");
                return cli_usage_error(VERIFY);
            }
            vo.aud = optarg;
            break;
        case OPT_SUB: vo.sub = optarg; break;
        case OPT_TYP: vo.typ = optarg; break;
        case OPT_PROFILE:
            if (strcmp(optarg, "at+jwt") != 0) {
                cli_say(VERIFY, "--profile '%s': the one profile is at+jwt (RFC 9068)", optarg);
                return cli_usage_error(VERIFY);
            }
            vo.profile = optarg;
            break;
        case OPT_DECRYPT_KEY: decrypt_key = optarg; break;
        case OPT_ENC:
            if (nencs == CLI_MAX_LIST ||
                hwj_alg_get_kind(encs[nencs++] = hwj_alg_from_name(optarg)) != HWJ_ALG_KIND_ENC) {
                cli_say(VERIFY, "--enc '%s' is not a JWE content encryption (e.g. A256GCM)",
                        optarg);
                return cli_usage_error(VERIFY);
            }
            break;
        case OPT_LEEWAY:
            if (cli_duration(VERIFY, "--leeway", optarg, &vo.leeway) != CLI_OK)
                return CLI_USAGE;
            break;
        case OPT_MAX_AGE:
            if (cli_duration(VERIFY, "--max-age", optarg, &vo.max_age) != CLI_OK)
                return CLI_USAGE;
            if (vo.max_age == 0) {
                cli_say(VERIFY, "--max-age must be longer than 0 seconds");
                return CLI_USAGE;
            }
            break;
        default: return cli_usage_error(VERIFY);
        }
    }
    if (optind < argc) {
        cli_say(VERIFY, "unexpected argument '%s' (the JWT is read from stdin)", argv[optind]);
        return cli_usage_error(VERIFY);
    }
    if (vk.issuer != NULL && vo.iss != NULL && strcmp(vk.issuer, vo.iss) != 0) {
        cli_say(VERIFY,
                "--iss '%s' differs from --issuer '%s': the discovered keys are that "
                "issuer's only",
                vo.iss, vk.issuer);
        return cli_usage_error(VERIFY);
    }
    if (vo.iss == NULL)
        vo.iss = vk.issuer;
    if (vo.iss == NULL || vo.aud == NULL) {
        cli_say(VERIFY, "--iss and --aud are required (RFC 8725: a JWT is only valid for an "
                        "expected issuer and audience)");
        return cli_usage_error(VERIFY);
    }
    if ((ret = cli_verify_load(VERIFY, &vk)) != CLI_OK)
        goto out;
    if ((ret = cli_read_input(VERIFY, vk.in_path, &in, &inlen)) != CLI_OK)
        goto out;
    while (inlen > 0 && (in[inlen - 1] == '\n' || in[inlen - 1] == '\r'))
        in[--inlen] = '\0';
    policy.algs = vk.algs;
    policy.nalgs = vk.nalgs;
    vo.policy = &policy;
    if (decrypt_key != NULL) {
        static const hwj_alg km_all[] = {HWJ_ALG_RSA_OAEP,       HWJ_ALG_RSA_OAEP_256,
                                         HWJ_ALG_ECDH_ES,        HWJ_ALG_ECDH_ES_A128KW,
                                         HWJ_ALG_ECDH_ES_A192KW, HWJ_ALG_ECDH_ES_A256KW};
        if ((ret = cli_key_open(VERIFY, decrypt_key, 0, &ctx, &dkey)) != CLI_OK)
            goto out;
        for (size_t i = 0; i < sizeof(km_all) / sizeof(km_all[0]); i++)
            if (hwj_key_can(dkey, km_all[i]))
                kms[nkms++] = km_all[i];
        if (nencs == 0)
            for (hwj_alg e = HWJ_ENC_A128CBC_HS256; e <= HWJ_ENC_A256GCM; e++)
                encs[nencs++] = e;
        hwj_jwe_decrypt_opts dopts = {.size = sizeof(hwj_jwe_decrypt_opts),
                                      .algs = kms,
                                      .nalgs = nkms,
                                      .encs = encs,
                                      .nencs = nencs,
                                      .key = dkey};
        rc = hwj_jwt_verify_nested((const char *)in, inlen, &dopts, vk.set, &vo, &claims, &err);
    } else {
        rc = hwj_jwt_verify((const char *)in, inlen, vk.set, &vo, &claims, &err);
    }
    if (rc != HWJ_OK) {
        ret = cli_fail(VERIFY, rc, &err);
        cli_verify_hints(VERIFY, rc, &err);
        goto out;
    }
    ret = cli_write(VERIFY, claims, strlen(claims), 1);
out:
    hwj_free(claims);
    cli_free_input(in, inlen);
    cli_verify_keys_free(&vk);
    hwj_key_free(dkey);
    hwj_ctx_free(ctx);
    return ret;
}

int cmd_jwt(int argc, char **argv)
{
    if (argc < 2) {
        jwt_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        jwt_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "issue") == 0)
        return jwt_issue(argc - 1, argv + 1);
    if (strcmp(argv[1], "verify") == 0)
        return jwt_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "inspect") == 0 || strcmp(argv[1], "decode") == 0)
        return cmd_jwt_inspect(argc - 1, argv + 1);
    fprintf(stderr,
            "hwjose jwt: unknown subcommand '%s'; use `jwt issue`, `jwt verify` or `jwt inspect`\n",
            argv[1]);
    return CLI_USAGE;
}
