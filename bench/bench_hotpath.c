/* bench_hotpath.c: the receiver's and the software signer's hot path — hwj_jwt_verify against a
 * local JWKS, hwj_jwks_cache_verify_jwt with a warm cache, and hwj_jwt_issue with a software
 * key — for N threads over D seconds. Prints "ops_per_second N" (wall clock) and
 * "ops_per_cpu_second N" (per second of this process's CPU time, user and system, as
 * `openssl speed` divides by its CPU time: on a shared machine the steadier figure).
 * bench/run-hotpath.sh runs it in rounds beside `openssl speed` and panva/jose.
 *
 *   bench_hotpath verify|cache-verify|sign|bare-verify RS256|PS256|ES256|EdDSA SECONDS [THREADS]
 *
 * bare-verify is the baseline OpenSSL itself sets for the same token: EVP_DigestVerify of its
 * signing input with the signature decoded beforehand (DER for ECDSA) and the context prepared
 * once and copied per operation (finalised in place), as hwjose does — no JSON, no base64url, no
 * checks. For PS256 it is the fair baseline: `openssl speed rsa2048` verifies PKCS#1 v1.5, without
 * RSASSA-PSS's MGF1 and second hash.
 *
 * cache-verify serves the JWKS from a loopback HTTP thread in this process (Cache-Control
 * max-age=3600), so after the first fetch every verification uses the cached set. */
#include "bench_clock.h"
#include "core/b64url.h"
#include "core/ecdsa.h"
#include <hwjose/hwjose.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_VERIFY, M_CACHE, M_SIGN, M_BARE };

static enum mode mode;
static hwj_alg alg;
static double seconds;
static hwj_key *key;
static hwj_jwks *set;
static hwj_jwks_cache *cache;
static char *token;
static char *jwks_json;
static atomic_long total;
static EVP_MD_CTX *bare_tmpl; /* M_BARE: the prepared verification context */
static unsigned char bare_sig[512];
static size_t bare_siglen, bare_inlen;
static const char *aud[] = {"bench"};

static double now(void)
{
    return bench_clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what, const hwj_error *err)
{
    fprintf(stderr, "bench_hotpath: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

static hwj_jwt_issue_opts issue_opts(void)
{
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = "https://issuer.example",
                            .sub = "user-1",
                            .aud = aud,
                            .naud = 1,
                            .ttl = 3600,
                            .claims_json = "{\"scope\":\"read write\",\"role\":\"reader\"}",
                            .alg = alg};
    return o;
}

static hwj_err bare_verify(void)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    int ok = m != NULL && EVP_MD_CTX_copy_ex(m, bare_tmpl) == 1;
    if (ok) {
        EVP_MD_CTX_set_flags(m, EVP_MD_CTX_FLAG_FINALISE); /* one use: finish in place */
        ok = EVP_DigestVerify(m, bare_sig, bare_siglen, (const unsigned char *)token, bare_inlen) ==
             1;
    }
    EVP_MD_CTX_free(m);
    return ok ? HWJ_OK : HWJ_ERR_SIGNATURE;
}

static void bare_setup(void)
{
    EVP_PKEY *pk = hwj_key_get0_pkey(key);
    EVP_PKEY_CTX *pctx = NULL;
    const EVP_MD *md = alg == HWJ_ALG_EDDSA ? NULL : EVP_sha256();
    const char *d2 = strrchr(token, '.');
    uint8_t raw[HWJ_SIG_MAX];
    size_t n = 0;
    hwj_error err = {0};

    bare_inlen = (size_t)(d2 - token);
    if (hwj_b64url_decode_to(d2 + 1, strlen(d2 + 1), raw, &n, "signature", &err) != HWJ_OK)
        die("signature", &err);
    bare_siglen = sizeof(bare_sig);
    if (alg == HWJ_ALG_ES256) { /* r||s → DER, as hwjose hands it to OpenSSL */
        if (hwj_ecdsa_raw_to_der_to(raw, n, 32, bare_sig, &bare_siglen) != HWJ_OK)
            die("signature", NULL);
    } else {
        memcpy(bare_sig, raw, n);
        bare_siglen = n;
    }
    if ((bare_tmpl = EVP_MD_CTX_new()) == NULL ||
        EVP_DigestVerifyInit(bare_tmpl, &pctx, md, NULL, pk) != 1 ||
        (alg == HWJ_ALG_PS256 && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                                  EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
                                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1)))
        die("bare context", NULL);
    if (bare_verify() != HWJ_OK)
        die("bare verify of the token", NULL);
}

static void *run(void *arg)
{
    (void)arg;
    hwj_jwt_issue_opts io = issue_opts();
    hwj_jwt_verify_opts vo = {
        .size = sizeof(hwj_jwt_verify_opts),
        .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy), .algs = &alg, .nalgs = 1},
        .iss = "https://issuer.example",
        .aud = "bench"};
    size_t toklen = strlen(token);
    double end = now() + seconds;
    long n = 0;

    while ((n & 63) != 0 || now() < end) {
        hwj_error err = {0};
        char *out = NULL;
        hwj_err rc;
        switch (mode) {
        case M_SIGN: rc = hwj_jwt_issue(key, &io, &out, &err); break;
        case M_VERIFY: rc = hwj_jwt_verify(token, toklen, set, &vo, &out, &err); break;
        case M_BARE: rc = bare_verify(); break;
        default: rc = hwj_jwks_cache_verify_jwt(cache, token, toklen, &vo, &out, &err);
        }
        if (rc != HWJ_OK)
            die("operation", &err);
        hwj_free(out);
        n++;
    }
    atomic_fetch_add(&total, n);
    return NULL;
}

/* One request per connection: enough for a cache that fetches once. */
static void *serve(void *arg)
{
    int ls = *(int *)arg;
    for (;;) {
        char req[4096], head[256];
        int c = accept(ls, NULL, NULL);
        if (c < 0)
            continue;
        (void)!read(c, req, sizeof(req));
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         "Cache-Control: max-age=3600\r\nContent-Length: %zu\r\n"
                         "Connection: close\r\n\r\n",
                         strlen(jwks_json));
        (void)!write(c, head, (size_t)n);
        (void)!write(c, jwks_json, strlen(jwks_json));
        close(c);
    }
    return NULL;
}

static void start_cache(void)
{
    static int ls;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    pthread_t t;
    char url[64];
    hwj_error err = {0};

    if ((ls = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(ls, (void *)&a, sizeof(a)) != 0 ||
        listen(ls, 4) != 0 || getsockname(ls, (void *)&a, &alen) != 0)
        die("loopback listener", NULL);
    pthread_create(&t, NULL, serve, &ls);
    pthread_detach(t);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/jwks.json", ntohs(a.sin_port));
    if (hwj_jwks_cache_new(url, NULL, &cache, &err) != HWJ_OK ||
        hwj_jwks_cache_refresh(cache, &err) != HWJ_OK)
        die("jwks cache", &err);
}

static EVP_PKEY *keygen(void)
{
    switch (alg) {
    case HWJ_ALG_RS256:
    case HWJ_ALG_PS256: return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    case HWJ_ALG_ES256: return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    default: return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    }
}

static void setup(void)
{
    char path[] = "/tmp/bench_hotpath_XXXXXX", uri[64];
    hwj_error err = {0};
    hwj_ctx *ctx = NULL;
    hwj_jwk *jwk = NULL;
    EVP_PKEY *pk = keygen();
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    hwj_jwt_issue_opts io = issue_opts();

    if (pk == NULL || f == NULL || PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) != 1)
        die("key generation", NULL);
    fclose(f);
    EVP_PKEY_free(pk);
    snprintf(uri, sizeof(uri), "file:%s", path);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK || hwj_key_open(ctx, uri, NULL, &key, &err) != HWJ_OK)
        die("key open", &err);
    unlink(path);
    if (hwj_jwks_new(&set, &err) != HWJ_OK || hwj_jwk_from_key(key, &jwk, &err) != HWJ_OK ||
        hwj_jwks_add(set, jwk, &err) != HWJ_OK || hwj_jwks_to_json(set, &jwks_json, &err) != HWJ_OK)
        die("JWKS", &err);
    if (hwj_jwt_issue(key, &io, &token, &err) != HWJ_OK)
        die("first token", &err);
}

int main(int argc, char **argv)
{
    int threads = argc > 4 ? atoi(argv[4]) : 1;
    pthread_t t[64];

    if (argc < 4 || threads < 1 || threads > 64) {
        fprintf(
            stderr,
            "usage: bench_hotpath verify|cache-verify|sign|bare-verify ALG SECONDS [THREADS]\n");
        return 2;
    }
    mode = strcmp(argv[1], "sign") == 0          ? M_SIGN
           : strcmp(argv[1], "verify") == 0      ? M_VERIFY
           : strcmp(argv[1], "bare-verify") == 0 ? M_BARE
                                                 : M_CACHE;
    alg = hwj_alg_from_name(argv[2]);
    seconds = atof(argv[3]);
    setup();
    if (mode == M_CACHE)
        start_cache();
    if (mode == M_BARE)
        bare_setup();
    double t0 = now(), c0 = bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double n = (double)atomic_load(&total);
    printf("ops_per_second %.0f\nops_per_cpu_second %.0f\n", n / (now() - t0),
           n / (bench_clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0));
    return 0;
}
