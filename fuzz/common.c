/* common.c: fixed keys and clock for the fuzz targets (see common.h). */
#include "common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hwj_alg fz_jws_algs[] = {HWJ_ALG_HS256, HWJ_ALG_HS384, HWJ_ALG_HS512, HWJ_ALG_RS256,
                               HWJ_ALG_RS384, HWJ_ALG_RS512, HWJ_ALG_PS256, HWJ_ALG_PS384,
                               HWJ_ALG_PS512, HWJ_ALG_ES256, HWJ_ALG_ES384, HWJ_ALG_ES512,
                               HWJ_ALG_EDDSA};
const size_t fz_njws_algs = sizeof(fz_jws_algs) / sizeof(fz_jws_algs[0]);
const hwj_alg fz_encs[] = {HWJ_ENC_A128CBC_HS256, HWJ_ENC_A192CBC_HS384, HWJ_ENC_A256CBC_HS512,
                           HWJ_ENC_A128GCM,       HWJ_ENC_A192GCM,       HWJ_ENC_A256GCM};
const size_t fz_nencs = sizeof(fz_encs) / sizeof(fz_encs[0]);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static hwj_ctx *ctx;
static hwj_jwks *verify_sets[FZ_NVERIFY_SETS];
static hwj_key *rsa, *p256;
static hwj_jwk *oct16, *oct32, *oct64;

int64_t fz_clock(void *arg)
{
    (void)arg;
    return FZ_NOW;
}

void fz_die(const char *what, const hwj_error *err)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, err ? err->message : "failed");
    abort();
}

void fz_report(const char *what, hwj_err rc, const hwj_error *err)
{
    static int on = -1;
    if (on < 0)
        on = getenv("HWJ_FUZZ_DEBUG") != NULL;
    if (on)
        fprintf(stderr, "%s: %s%s%s\n", what, rc == HWJ_OK ? "ok" : hwj_err_str(rc),
                rc == HWJ_OK ? "" : ": ", rc == HWJ_OK ? "" : err->message);
}

char *fz_path(const char *rel)
{
    size_t n = strlen(HWJ_SOURCE_DIR) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p)
        fz_die("out of memory", NULL);
    snprintf(p, n, "%s/%s", HWJ_SOURCE_DIR, rel);
    return p;
}

static hwj_key *open_key(const char *rel)
{
    hwj_error err = {0};
    hwj_key *k = NULL;
    char *p = fz_path(rel);
    size_t n = strlen(p) + 6;
    char *uri = malloc(n);
    if (!uri)
        fz_die("out of memory", NULL);
    snprintf(uri, n, "file:%s", p);
    if (hwj_key_open(ctx, uri, NULL, &k, &err) != HWJ_OK)
        fz_die(uri, &err);
    free(uri);
    free(p);
    return k;
}

static hwj_jwk *read_jwk(const char *rel)
{
    hwj_error err = {0};
    hwj_jwk *j = NULL;
    char *p = fz_path(rel);
    if (hwj_jwk_read_file(p, &j, &err) != HWJ_OK)
        fz_die(p, &err);
    free(p);
    return j;
}

static void add_public(hwj_key *k)
{
    hwj_error err = {0};
    hwj_jwk *j = NULL;
    if (hwj_jwk_from_key(k, &j, &err) != HWJ_OK || hwj_jwks_add(verify_sets[0], j, &err) != HWJ_OK)
        fz_die("public JWK", &err);
}

static void add_with_kid(const hwj_jwk *k)
{
    hwj_error err = {0};
    char *json = NULL, *tp = NULL, *with = NULL;
    hwj_jwk *j = NULL;
    if (hwj_jwk_to_json(k, 1, &json, &err) != HWJ_OK || hwj_jwk_thumbprint(k, &tp, &err) != HWJ_OK)
        fz_die("oct kid", &err);
    size_t n = strlen(json) + strlen(tp) + 16;
    if (!(with = malloc(n)))
        fz_die("out of memory", NULL);
    snprintf(with, n, "{\"kid\":\"%s\",%s", tp, json + 1);
    if (hwj_jwk_parse(with, strlen(with), &j, &err) != HWJ_OK ||
        hwj_jwks_add(verify_sets[2], j, &err) != HWJ_OK)
        fz_die("oct kid", &err);
    free(with);
    hwj_free(tp);
    hwj_free(json);
}

static void init(void)
{
    static const char *const pems[] = {"tests/data/soft-rsa2048.pem", "tests/data/soft-p256.pem",
                                       "tests/data/soft-p384.pem", "tests/data/soft-p521.pem",
                                       "tests/data/soft-ed25519.pem"};
    hwj_error err = {0};
    hwj_jwks *cookbook = NULL;
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK)
        fz_die("context", &err);
    for (size_t i = 0; i < FZ_NVERIFY_SETS; i++)
        if (hwj_jwks_new(&verify_sets[i], &err) != HWJ_OK)
            fz_die("key set", &err);
    for (size_t i = 0; i < sizeof(pems) / sizeof(pems[0]); i++) {
        hwj_key *k = open_key(pems[i]);
        add_public(k);
        if (i == 0)
            rsa = k;
        else if (i == 1)
            p256 = k;
        else
            hwj_key_free(k);
    }
    oct16 = read_jwk("tests/data/soft-oct16.json");
    oct32 = read_jwk("fuzz/keys/oct32.json");
    oct64 = read_jwk("tests/data/soft-oct64.json");
    add_with_kid(oct64); /* as the jwk: backend names it: kid = thumbprint */
    char *p = fz_path("fuzz/keys/rfc7520.jwks");
    if (hwj_jwks_read_file(p, &cookbook, &err) != HWJ_OK)
        fz_die(p, &err);
    free(p);
    for (size_t i = 0; i < hwj_jwks_count(cookbook); i++) {
        char *json = NULL;
        hwj_jwk *j = NULL;
        const hwj_jwk *c = hwj_jwks_get0(cookbook, i);
        size_t to = hwj_jwk_get_kty(c) == HWJ_KTY_OCT ? 2 : 0;
        if (hwj_jwk_to_json(c, 1, &json, &err) != HWJ_OK ||
            hwj_jwk_parse(json, strlen(json), &j, &err) != HWJ_OK ||
            hwj_jwks_add(verify_sets[to], j, &err) != HWJ_OK)
            fz_die("cookbook key", &err);
        hwj_free(json);
    }
    hwj_jwks_free(cookbook);
    if (hwj_jwks_add(verify_sets[1], read_jwk("fuzz/keys/rfc7520-rsa.jwk"), &err) != HWJ_OK)
        fz_die("cookbook RSA key", &err);
}

const hwj_jwks *fz_verify_set(size_t i)
{
    pthread_once(&once, init);
    return i < FZ_NVERIFY_SETS ? verify_sets[i] : NULL;
}

hwj_key *fz_key_rsa(void)
{
    pthread_once(&once, init);
    return rsa;
}

hwj_key *fz_key_p256(void)
{
    pthread_once(&once, init);
    return p256;
}

const hwj_jwk *fz_oct16(void)
{
    pthread_once(&once, init);
    return oct16;
}

const hwj_jwk *fz_oct32(void)
{
    pthread_once(&once, init);
    return oct32;
}

const hwj_jwk *fz_oct64(void)
{
    pthread_once(&once, init);
    return oct64;
}
