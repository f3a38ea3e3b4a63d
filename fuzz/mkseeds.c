/* mkseeds: writes the generated part of the seed corpora (fuzz/corpus/<target>/gen-*):
 * JWS in every serialization for every test key and alg, JWTs at the fuzzers' fixed clock,
 * JWEs for every alg and enc to the fuzzers' decryption keys. Run from a replay build:
 *   build/tests/fuzz_mkseeds fuzz/corpus
 * The RFC 7520 and hand-written seeds come from fuzz/seeds.py. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;
static int nfile;

static void put(const char *target, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/gen-%03d", outdir, target, nfile++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, strlen(text), f) != strlen(text) || fclose(f) != 0)
        fz_die(path, NULL);
}

static hwj_key *open_uri(hwj_ctx *ctx, const char *scheme, const char *rel)
{
    char uri[4096];
    hwj_error err = {0};
    hwj_key *k = NULL;
    char *p = fz_path(rel);
    snprintf(uri, sizeof(uri), "%s:%s", scheme, p);
    free(p);
    if (hwj_key_open(ctx, uri, NULL, &k, &err) != HWJ_OK)
        fz_die(uri, &err);
    return k;
}

static void jws_seeds(hwj_key *k, hwj_alg alg)
{
    static const uint8_t payload[] = "{\"iss\":\"issuer\",\"n\":1}";
    static const hwj_jws_format fmts[] = {HWJ_JWS_COMPACT, HWJ_JWS_JSON, HWJ_JWS_JSON_FLAT};
    for (size_t f = 0; f < 3; f++)
        for (int variant = 0; variant < 3; variant++) {
            hwj_error err = {0};
            char *out = NULL;
            hwj_jws_sign_opts o = {
                .size = sizeof(hwj_jws_sign_opts), .alg = alg, .format = fmts[f]};
            if (variant == 1)
                o.b64_false = 1;
            if (variant == 2) {
                o.header_json = "{\"exp\":1700003600,\"cty\":\"text\"}";
                if (fmts[f] != HWJ_JWS_COMPACT)
                    o.unprotected_json = "{\"x-note\":\"unprotected\"}";
            }
            if (hwj_jws_sign(k, payload, sizeof(payload) - 1, &o, &out, &err) != HWJ_OK)
                fz_die("jws sign", &err);
            put(fmts[f] == HWJ_JWS_COMPACT ? "jws_compact" : "jws_json", out);
            hwj_free(out);
        }
}

static void jwt_seeds(hwj_key *k, hwj_alg alg)
{
    static const char *const aud[] = {FZ_AUD, "svc-b"};
    for (int variant = 0; variant < 3; variant++) {
        hwj_error err = {0};
        char *out = NULL;
        hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                                .iss = FZ_ISS,
                                .sub = "alice",
                                .aud = aud,
                                .naud = variant == 1 ? 2 : 1,
                                .ttl = variant == 2 ? 1 : 600,
                                .claims_json =
                                    variant == 1 ? "{\"scope\":\"a b\",\"n\":1.5}" : NULL,
                                .alg = alg,
                                .clock = fz_clock};
        if (hwj_jwt_issue(k, &o, &out, &err) != HWJ_OK)
            fz_die("jwt issue", &err);
        put("jwt", out);
        hwj_free(out);
    }
}

static void jwe_one(const hwj_jwe_recipient *r, hwj_alg enc, hwj_jwe_format fmt, int zip)
{
    static const uint8_t pt[] = "You can trust us to stick with you through thick and thin";
    hwj_error err = {0};
    char *out = NULL;
    hwj_jwe_encrypt_opts o = {
        .size = sizeof(hwj_jwe_encrypt_opts), .enc = enc, .format = fmt, .zip = zip};
    if (fmt != HWJ_JWE_COMPACT) {
        o.aad = (const uint8_t *)"aad";
        o.aad_len = 3;
        o.unprotected_json = "{\"jku\":\"https://example.invalid/keys\"}";
    }
    if (hwj_jwe_encrypt(r, 1, pt, sizeof(pt) - 1, &o, &out, &err) != HWJ_OK)
        fz_die(hwj_alg_name(r->alg), &err);
    put("jwe", out);
    hwj_free(out);
}

int main(int argc, char **argv)
{
    hwj_error err = {0};
    hwj_ctx *ctx = NULL;
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_mkseeds CORPUS_DIR\n");
        return 2;
    }
    outdir = argv[1];
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK)
        fz_die("ctx", &err);
    struct {
        const char *scheme, *rel;
        hwj_alg algs[3];
    } signers[] = {
        {"file", "tests/data/soft-rsa2048.pem", {HWJ_ALG_RS256, HWJ_ALG_PS384, HWJ_ALG_RS512}},
        {"file", "tests/data/soft-p256.pem", {HWJ_ALG_ES256}},
        {"file", "tests/data/soft-p384.pem", {HWJ_ALG_ES384}},
        {"file", "tests/data/soft-p521.pem", {HWJ_ALG_ES512}},
        {"file", "tests/data/soft-ed25519.pem", {HWJ_ALG_EDDSA}},
        {"jwk", "tests/data/soft-oct64.json", {HWJ_ALG_HS256, HWJ_ALG_HS512}},
    };
    for (size_t i = 0; i < sizeof(signers) / sizeof(signers[0]); i++) {
        hwj_key *k = open_uri(ctx, signers[i].scheme, signers[i].rel);
        for (size_t a = 0; a < 3 && signers[i].algs[a]; a++) {
            jws_seeds(k, signers[i].algs[a]);
            jwt_seeds(k, signers[i].algs[a]);
        }
        hwj_key_free(k);
    }
    /* JWE: every alg to the fuzzer's key of its kind; every enc once. */
    hwj_jwk *rsa = NULL, *p256 = NULL;
    if (hwj_jwk_from_key(fz_key_rsa(), &rsa, &err) != HWJ_OK ||
        hwj_jwk_from_key(fz_key_p256(), &p256, &err) != HWJ_OK)
        fz_die("public jwk", &err);
    struct {
        hwj_alg alg;
        const hwj_jwk *jwk;
        hwj_alg enc;
    } kms[] = {
        {HWJ_ALG_RSA_OAEP, rsa, HWJ_ENC_A256GCM},
        {HWJ_ALG_RSA_OAEP_256, rsa, HWJ_ENC_A128CBC_HS256},
        {HWJ_ALG_ECDH_ES, p256, HWJ_ENC_A256GCM},
        {HWJ_ALG_ECDH_ES_A128KW, p256, HWJ_ENC_A192GCM},
        {HWJ_ALG_ECDH_ES_A256KW, p256, HWJ_ENC_A256CBC_HS512},
        {HWJ_ALG_A128KW, fz_oct16(), HWJ_ENC_A128GCM},
        {HWJ_ALG_A256KW, fz_oct32(), HWJ_ENC_A192CBC_HS384},
        {HWJ_ALG_A128GCMKW, fz_oct16(), HWJ_ENC_A256GCM},
        {HWJ_ALG_A256GCMKW, fz_oct32(), HWJ_ENC_A128CBC_HS256},
        {HWJ_ALG_DIR, fz_oct16(), HWJ_ENC_A128GCM},
        {HWJ_ALG_DIR, fz_oct32(), HWJ_ENC_A256GCM},
        {HWJ_ALG_DIR, fz_oct32(), HWJ_ENC_A128CBC_HS256},
        {HWJ_ALG_PBES2_HS256_A128KW, NULL, HWJ_ENC_A128GCM},
        {HWJ_ALG_PBES2_HS512_A256KW, NULL, HWJ_ENC_A256CBC_HS512},
    };
    for (size_t i = 0; i < sizeof(kms) / sizeof(kms[0]); i++) {
        hwj_jwe_recipient r = {
            .size = sizeof(hwj_jwe_recipient), .alg = kms[i].alg, .jwk = kms[i].jwk};
        if (!kms[i].jwk) {
            r.password = FZ_PASSWORD;
            r.password_len = sizeof(FZ_PASSWORD) - 1;
            r.p2c = FZ_MAX_P2C;
        }
        jwe_one(&r, kms[i].enc, HWJ_JWE_COMPACT, i % 3 == 0);
        if (kms[i].alg != HWJ_ALG_DIR || i == 9) {
            jwe_one(&r, kms[i].enc, HWJ_JWE_JSON, 0);
            jwe_one(&r, kms[i].enc, HWJ_JWE_JSON_FLAT, i % 2);
        }
    }
    hwj_jwk_free(rsa);
    hwj_jwk_free(p256);
    /* JWK: the fixed keys one by one, and the asymmetric ones as a set (a JWKS publishes
     * no oct key). */
    char set[16384] = "{\"keys\":[";
    for (size_t s = 0; s < FZ_NVERIFY_SETS; s++)
        for (size_t i = 0; i < hwj_jwks_count(fz_verify_set(s)); i++) {
            char *j = NULL;
            const hwj_jwk *k = hwj_jwks_get0(fz_verify_set(s), i);
            if (hwj_jwk_to_json(k, 1, &j, &err) != HWJ_OK)
                fz_die("jwk", &err);
            put("jwk", j);
            if (hwj_jwk_get_kty(k) != HWJ_KTY_OCT && strlen(set) + strlen(j) + 4 < sizeof(set)) {
                if (set[strlen(set) - 1] != '[')
                    strcat(set, ",");
                strcat(set, j);
            }
            hwj_free(j);
        }
    strcat(set, "]}");
    put("jwk", set);
    hwj_ctx_free(ctx);
    printf("wrote %d seeds\n", nfile);
    return 0;
}
