/* test_dpop.c: DPoP (RFC 9449) proofs made and verified with software keys and an injected
 * clock: round trips per alg, htu normalisation, every §4.3 refusal (typ, none, HMAC, a private
 * jwk, htm, htu, iat both ways, ath, jkt, nonce, jti replay) and the replay cache's bounds. The
 * same library calls with SoftHSM and swtpm keys run in tests/cli/test_dpop.sh. One replay cache
 * shared by threads accepts each proof exactly once. */
#include "testutil.h"

#include "core/b64url.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */
#define HTU "https://rs.example/api/token"

/* RFC 7520 §5.5's P-256 key, private: to put a private JWK where only a public one belongs */
static const char ec_private_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"Ze2loSV3wrroKUN_4zhwGhCqo3Xhu1td4QjeQ5wIVR0\","
    "\"y\":\"HlLtdXARY_f55A3fnzQbPcm6hgr34Mp8p-nuzQCE0Zw\","
    "\"d\":\"r_kHyZ-a06rmxM3yESK84r1otSg-aQcVStkRhA-iCM8\"}";
static const char oct_jwk[] = "{\"kty\":\"oct\",\"k\":\"fNyBmPMmH9LCdFAuhDKV47o4roLpILTGNv-mS7Ch4v"
                              "UuN9zGiwMKBRqOZ9mNBuLVrUeswFbXc6K0Y00VkpfQww\"}";

static hwj_ctx *ctx;
static hwj_key *p256, *ed, *rsa, *ecpriv, *oct;

static int64_t fixed_clock(void *arg)
{
    return *(const int64_t *)arg;
}

static hwj_key *open_uri(const char *uri)
{
    hwj_key *k = NULL;
    hwj_error err;
    if (hwj_key_open(ctx, uri, NULL, &k, &err) != HWJ_OK)
        fprintf(stderr, "open %s: %s\n", uri, err.message);
    return k;
}

static hwj_key *open_data(const char *file)
{
    char uri[1024];
    snprintf(uri, sizeof(uri), "file:%s/%s", HWJ_TEST_DATA_DIR, file);
    return open_uri(uri);
}

static hwj_key *open_jwk(const char *name, const char *json)
{
    char uri[1024], *path = tu_write_temp(name, json);
    hwj_key *k;
    snprintf(uri, sizeof(uri), "jwk:%s", path);
    k = open_uri(uri);
    free(path);
    return k;
}

static int setup(void **state)
{
    hwj_error err;
    (void)state;
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK)
        return -1;
    p256 = open_data("soft-p256.pem");
    ed = open_data("soft-ed25519.pem");
    rsa = open_data("soft-rsa2048.pem");
    ecpriv = open_jwk("dpop-ec.json", ec_private_jwk);
    oct = open_jwk("dpop-oct.json", oct_jwk);
    return p256 && ed && rsa && ecpriv && oct ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    hwj_key_free(p256);
    hwj_key_free(ed);
    hwj_key_free(rsa);
    hwj_key_free(ecpriv);
    hwj_key_free(oct);
    hwj_ctx_free(ctx);
    return 0;
}

static char *make_proof(hwj_key *key, hwj_alg alg, const char *htm, const char *htu,
                        const char *token, const char *nonce, int64_t at)
{
    hwj_dpop_proof_opts o = {.size = sizeof(hwj_dpop_proof_opts),
                             .htm = htm,
                             .htu = htu,
                             .access_token = token,
                             .nonce = nonce,
                             .alg = alg,
                             .clock = fixed_clock,
                             .clock_arg = &at};
    hwj_error err;
    char *proof = NULL;
    tu_ok(hwj_dpop_proof(key, &o, &proof, &err), &err);
    return proof;
}

static hwj_dpop_verify_opts vopts(int64_t *now)
{
    hwj_dpop_verify_opts o = {.size = sizeof(hwj_dpop_verify_opts), .htm = "POST", .htu = HTU};
    o.clock = fixed_clock;
    o.clock_arg = now;
    return o;
}

/* Verify and return the code; the message in *err. */
static hwj_err verify(const char *proof, const hwj_dpop_verify_opts *o, hwj_error *err)
{
    hwj_dpop_result *res = NULL;
    hwj_err rc = hwj_dpop_verify(proof, o, &res, err);
    assert_true((rc == HWJ_OK) == (res != NULL));
    hwj_dpop_result_free(res);
    return rc;
}

static void test_roundtrip(void **state)
{
    struct {
        hwj_key **key;
        hwj_alg alg;
    } cases[] = {{&p256, HWJ_ALG_ES256},
                 {&ed, HWJ_ALG_EDDSA},
                 {&ed, HWJ_ALG_ED25519},
                 {&rsa, HWJ_ALG_PS256},
                 {&rsa, HWJ_ALG_RS256}};
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t now = T0;
        char *proof = make_proof(*cases[i].key, cases[i].alg, "POST", HTU, "at-1", "n-1", T0);
        hwj_dpop_verify_opts o = vopts(&now);
        hwj_dpop_result *res = NULL;
        hwj_jwk *pub = NULL;
        char *tp = NULL;
        hwj_error err;

        o.access_token = "at-1";
        o.nonce = "n-1";
        tu_ok(hwj_jwk_from_key(*cases[i].key, &pub, &err), &err);
        tu_ok(hwj_jwk_thumbprint(pub, &tp, &err), &err);
        o.jkt = tp;
        tu_ok(hwj_dpop_verify(proof, &o, &res, &err), &err);
        assert_string_equal(res->jkt, tp);
        assert_int_equal(res->alg, cases[i].alg);
        assert_int_equal(res->iat, T0);
        assert_non_null(strstr(res->claims_json, "\"htu\":\"" HTU "\""));
        assert_null(strstr(res->jwk_json, "\"d\""));
        hwj_dpop_result_free(res);
        hwj_free(tp);
        hwj_jwk_free(pub);
        hwj_free(proof);
    }
}

static void test_htu_normalize(void **state)
{
    static const char *const cases[][2] = {
        {"HTTPS://RS.Example:443/api/token?q=1#frag", "https://rs.example/api/token"},
        {"http://rs.example:80", "http://rs.example/"},
        {"http://rs.example:8080/", "http://rs.example:8080/"},
        {"https://rs.example:/a", "https://rs.example/a"},
        {"https://rs.example/a/./b/../c/%7euser/%2f", "https://rs.example/a/c/~user/%2F"},
        {"https://[::1]:8443/x", "https://[::1]:8443/x"},
        {"https://rs.example/a/..", "https://rs.example/"},
    };
    static const char *const bad[] = {"ftp://rs.example/",
                                      "https://user@rs.example/",
                                      "rs.example/x",
                                      "https://rs.example:99999/",
                                      "https:///x",
                                      "https://rs.example/%zz",
                                      "https://rs.example/a b"};
    hwj_error err;
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        tu_ok(hwj_dpop_htu_normalize(cases[i][0], &out, &err), &err);
        assert_string_equal(out, cases[i][1]);
        hwj_free(out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *out = NULL;
        assert_int_equal(hwj_dpop_htu_normalize(bad[i], &out, &err), HWJ_ERR_PARSE);
        assert_null(out);
    }
}

/* A proof signed by `key` with exactly this header (beyond alg) and these claims. */
static char *craft(hwj_key *key, hwj_alg alg, const char *header, const char *claims)
{
    hwj_jws_sign_opts so = {
        .size = sizeof(hwj_jws_sign_opts), .alg = alg, .kid = "", .header_json = header};
    hwj_error err;
    char *out = NULL;
    tu_ok(hwj_jws_sign(key, (const uint8_t *)claims, strlen(claims), &so, &out, &err), &err);
    return out;
}

static char *claims_at(int64_t iat)
{
    char *c = NULL;
    assert_true(asprintf(&c, "{\"jti\":\"j-%lld\",\"htm\":\"POST\",\"htu\":\"%s\",\"iat\":%lld}",
                         (long long)iat, HTU, (long long)iat) > 0);
    return c;
}

static void test_hostile_headers(void **state)
{
    int64_t now = T0;
    hwj_dpop_verify_opts o = vopts(&now);
    char *claims = claims_at(T0), *pub = NULL, *hdr = NULL, *p, *b64h, *b64c;
    hwj_error err;
    (void)state;

    tu_ok(hwj_key_public_jwk(p256, &pub, &err), &err);
    /* typ JWT, and no typ */
    assert_true(asprintf(&hdr, "{\"typ\":\"JWT\",\"jwk\":%s}", pub) > 0);
    p = craft(p256, HWJ_ALG_ES256, hdr, claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    hwj_free(p), free(hdr);
    assert_true(asprintf(&hdr, "{\"jwk\":%s}", pub) > 0);
    p = craft(p256, HWJ_ALG_ES256, hdr, claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    hwj_free(p), free(hdr);
    /* an unencoded payload (RFC 7797) is no JWT */
    {
        hwj_jws_sign_opts so = {
            .size = sizeof(hwj_jws_sign_opts), .alg = HWJ_ALG_ES256, .kid = "", .b64_false = 1};
        assert_true(asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"jwk\":%s}", pub) > 0);
        so.header_json = hdr;
        static const char nodots[] = "{\"jti\":\"x\"}"; /* compact b64:false forbids '.' */
        tu_ok(hwj_jws_sign(p256, (const uint8_t *)nodots, strlen(nodots), &so, &p, &err), &err);
        assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
        hwj_free(p), free(hdr);
    }
    /* no jwk */
    p = craft(p256, HWJ_ALG_ES256, "{\"typ\":\"dpop+jwt\"}", claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    hwj_free(p);
    /* a private JWK in the header, signed by that very key */
    assert_true(asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"jwk\":%s}", ec_private_jwk) > 0);
    p = craft(ecpriv, HWJ_ALG_ES256, hdr, claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    assert_non_null(strstr(err.message, "private"));
    hwj_free(p), free(hdr);
    /* HS256 with the secret as an oct jwk */
    assert_true(asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"jwk\":%s}", oct_jwk) > 0);
    p = craft(oct, HWJ_ALG_HS256, hdr, claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    hwj_free(p), free(hdr);
    /* alg none, no signature */
    assert_true(asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"alg\":\"none\",\"jwk\":%s}", pub) > 0);
    tu_ok(hwj_b64url_encode((const uint8_t *)hdr, strlen(hdr), &b64h, &err), &err);
    tu_ok(hwj_b64url_encode((const uint8_t *)claims, strlen(claims), &b64c, &err), &err);
    assert_true(asprintf(&p, "%s.%s.", b64h, b64c) > 0);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_POLICY);
    free(p), free(hdr), free(b64h), free(b64c);
    /* a key that did not sign it: another key's jwk */
    hwj_free(pub);
    tu_ok(hwj_key_public_jwk(ecpriv, &pub, &err), &err);
    assert_true(asprintf(&hdr, "{\"typ\":\"dpop+jwt\",\"jwk\":%s}", pub) > 0);
    p = craft(p256, HWJ_ALG_ES256, hdr, claims);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_SIGNATURE);
    assert_string_equal(err.message, "invalid signature");
    hwj_free(p), free(hdr);
    /* the verifier's list narrows the algs */
    p = make_proof(rsa, HWJ_ALG_RS256, "POST", HTU, NULL, NULL, T0);
    {
        static const hwj_alg es[] = {HWJ_ALG_ES256};
        hwj_dpop_verify_opts o2 = o;
        o2.algs = es;
        o2.nalgs = 1;
        assert_int_equal(verify(p, &o2, &err), HWJ_ERR_POLICY);
    }
    hwj_free(p);
    /* garbage and an old options struct */
    assert_int_equal(verify("a.b", &o, &err), HWJ_ERR_PARSE);
    {
        hwj_dpop_verify_opts o3 = o;
        hwj_dpop_result *res = NULL;
        o3.size = sizeof(size_t);
        assert_int_equal(hwj_dpop_verify("x.y.z", &o3, &res, &err), HWJ_ERR_ARG);
    }
    hwj_free(pub);
    free(claims);
}

static void test_hostile_claims(void **state)
{
    int64_t now = T0;
    hwj_dpop_verify_opts o = vopts(&now);
    char *p;
    hwj_error err;
    (void)state;

    p = make_proof(p256, 0, "GET", HTU, NULL, NULL, T0);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS); /* htm */
    hwj_free(p);
    p = make_proof(p256, 0, "POST", "https://rs.example/api/other", NULL, NULL, T0);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS); /* htu */
    hwj_free(p);
    /* the same URL as the client wrote it: accepted */
    p = make_proof(p256, 0, "POST", "HTTPS://rs.example:443/api/token?x=1", NULL, NULL, T0);
    tu_ok(verify(p, &o, &err), &err);
    hwj_free(p);
    /* iat: at the window's edges */
    p = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0 - HWJ_DPOP_DEFAULT_MAX_AGE);
    tu_ok(verify(p, &o, &err), &err);
    hwj_free(p);
    p = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0 - HWJ_DPOP_DEFAULT_MAX_AGE - 1);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    assert_non_null(strstr(err.message, "stale"));
    hwj_free(p);
    p = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0 + HWJ_DPOP_DEFAULT_LEEWAY + 1);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    hwj_free(p);
    /* ath: missing, and for another token */
    p = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0);
    o.access_token = "at-1";
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    hwj_free(p);
    p = make_proof(p256, 0, "POST", HTU, "at-2", NULL, T0);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    o.access_token = NULL;
    /* jkt of another key */
    o.jkt = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    assert_non_null(strstr(err.message, "cnf.jkt"));
    o.jkt = NULL;
    /* nonce required: absent, then another */
    o.nonce = "n-1";
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    assert_memory_equal(err.message, "use_dpop_nonce", 14);
    hwj_free(p);
    p = make_proof(p256, 0, "POST", HTU, NULL, "n-0", T0);
    assert_int_equal(verify(p, &o, &err), HWJ_ERR_CLAIMS);
    assert_memory_equal(err.message, "use_dpop_nonce", 14);
    hwj_free(p);
}

static void test_replay(void **state)
{
    int64_t now = T0;
    hwj_dpop_verify_opts o = vopts(&now);
    hwj_dpop_replay *cache = NULL;
    char *p1, *p2, *p3;
    hwj_error err;
    (void)state;

    tu_ok(hwj_dpop_replay_new(2, 0, 0, &cache, &err), &err);
    o.replay = cache;
    p1 = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0);
    p2 = make_proof(ed, 0, "POST", HTU, NULL, NULL, T0);
    p3 = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0);
    tu_ok(verify(p1, &o, &err), &err);
    assert_int_equal(verify(p1, &o, &err), HWJ_ERR_CLAIMS); /* replayed */
    assert_non_null(strstr(err.message, "jti"));
    tu_ok(verify(p2, &o, &err), &err);
    assert_int_equal(hwj_dpop_replay_count(cache), 2);
    /* full of live entries: a new proof is refused, never a jti forgotten */
    assert_int_equal(verify(p3, &o, &err), HWJ_ERR_LIMIT);
    assert_int_equal(verify(p1, &o, &err), HWJ_ERR_CLAIMS);
    /* once the window has passed, the entries go (and their proofs are stale anyway) */
    now = T0 + HWJ_DPOP_DEFAULT_MAX_AGE + HWJ_DPOP_DEFAULT_LEEWAY + 2;
    assert_int_equal(verify(p1, &o, &err), HWJ_ERR_CLAIMS);
    hwj_free(p3);
    p3 = make_proof(p256, 0, "POST", HTU, NULL, NULL, now);
    tu_ok(verify(p3, &o, &err), &err);
    assert_int_equal(hwj_dpop_replay_count(cache), 1);
    assert_int_equal(verify(p3, &o, &err), HWJ_ERR_CLAIMS);
    hwj_free(p1), hwj_free(p2), hwj_free(p3);
    hwj_dpop_replay_free(cache);
    hwj_dpop_replay_free(NULL);
}

/* One cache shared by threads: each proof is accepted exactly once whichever thread sees it. */
#define NPROOFS 64
#define NTHREADS 4
struct race {
    char **proofs;
    hwj_dpop_replay *cache;
    int accepted;
};

static void *race_run(void *arg)
{
    struct race *r = arg;
    int64_t now = T0;
    hwj_dpop_verify_opts o = vopts(&now);
    int n = 0;
    o.replay = r->cache;
    for (int i = 0; i < NPROOFS; i++) {
        hwj_dpop_result *res = NULL;
        hwj_error err;
        if (hwj_dpop_verify(r->proofs[i], &o, &res, &err) == HWJ_OK)
            n++;
        hwj_dpop_result_free(res);
    }
    __atomic_add_fetch(&r->accepted, n, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_replay_threads(void **state)
{
    char *proofs[NPROOFS];
    struct race r = {.proofs = proofs};
    pthread_t th[NTHREADS];
    hwj_error err;
    (void)state;
    for (int i = 0; i < NPROOFS; i++)
        proofs[i] = make_proof(p256, 0, "POST", HTU, NULL, NULL, T0);
    tu_ok(hwj_dpop_replay_new(0, 0, 0, &r.cache, &err), &err);
    for (int t = 0; t < NTHREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, race_run, &r), 0);
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    assert_int_equal(r.accepted, NPROOFS);
    assert_int_equal(hwj_dpop_replay_count(r.cache), NPROOFS);
    hwj_dpop_replay_free(r.cache);
    for (int i = 0; i < NPROOFS; i++)
        hwj_free(proofs[i]);
}

static void test_proof_args(void **state)
{
    hwj_dpop_proof_opts o = {.size = sizeof(hwj_dpop_proof_opts), .htm = "POST", .htu = HTU};
    char *p = NULL;
    hwj_error err;
    (void)state;
    o.alg = HWJ_ALG_HS256;
    assert_int_equal(hwj_dpop_proof(oct, &o, &p, &err), HWJ_ERR_POLICY);
    o.alg = 0;
    assert_int_equal(hwj_dpop_proof(oct, &o, &p, &err), HWJ_ERR_POLICY); /* its HS256 */
    { /* a 16-byte oct key has no JWS alg at all: the error names the key, not 'unknown' */
        hwj_key *oct16 =
            open_jwk("dpop-oct16.json", "{\"kty\":\"oct\",\"k\":\"AAECAwQFBgcICQoLDA0ODw\"}");
        assert_non_null(oct16);
        assert_int_equal(hwj_dpop_proof(oct16, &o, &p, &err), HWJ_ERR_POLICY);
        assert_null(strstr(err.message, "unknown"));
        assert_non_null(strstr(err.message, "no asymmetric JWS alg"));
        hwj_key_free(oct16);
    }
    o.htm = "PO ST";
    assert_int_equal(hwj_dpop_proof(p256, &o, &p, &err), HWJ_ERR_ARG);
    o.htm = "POST";
    o.htu = "ftp://x/";
    assert_int_equal(hwj_dpop_proof(p256, &o, &p, &err), HWJ_ERR_PARSE);
    o.htu = HTU;
    o.size = 4;
    assert_int_equal(hwj_dpop_proof(p256, &o, &p, &err), HWJ_ERR_ARG);
    assert_null(p);
    /* the private key's proof carries the public JWK only */
    o.size = sizeof(o);
    tu_ok(hwj_dpop_proof(ecpriv, &o, &p, &err), &err);
    {
        uint8_t *hdr = NULL;
        size_t len;
        tu_ok(hwj_b64url_decode(p, strcspn(p, "."), &hdr, &len, "header", &err), &err);
        assert_null(strstr((char *)hdr, "\"d\""));
        assert_non_null(strstr((char *)hdr, "\"typ\":\"dpop+jwt\""));
        free(hdr);
    }
    hwj_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),       cmocka_unit_test(test_htu_normalize),
        cmocka_unit_test(test_hostile_headers), cmocka_unit_test(test_hostile_claims),
        cmocka_unit_test(test_replay),          cmocka_unit_test(test_replay_threads),
        cmocka_unit_test(test_proof_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
