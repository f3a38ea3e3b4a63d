/*
 * bench_pkcs11.c: JWT signing with the key inside SoftHSM, against a bare C_SignInit +
 * C_Sign loop on the same key, same token, same process.
 *
 *   bench_pkcs11 [SECONDS]      (default 2 per case)
 *
 * Makes its own token with scripts/softhsm-token.sh in a temporary folder, generates ES256,
 * RS256 (2048) and EdDSA keys with hwj_key_generate, then for 1 and 2 threads measures:
 *   bare    C_SignInit + C_Sign on the private key handle, one session per thread (ES256
 *           over a precomputed SHA-256 digest with CKM_ECDSA, the mechanism hwjose uses);
 *   hwjose  hwj_jwt_issue (hwj_jws_sign of the same claims if jwt.c is not in this build):
 *           claims, header, base64url, hashing, a pooled session, the token's signature.
 * Prints ops/s and hwjose/bare. See docs/benchmarks.md ("PKCS#11").
 */
#include "bench_clock.h"
#include <hwjose/hwjose.h>
#include <openssl/evp.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif
#define TOKEN "bench"

static double seconds = 2.0;
static char dir[256], pinfile[300], pin[64];
static CK_FUNCTION_LIST *f;
static CK_SLOT_ID slot;
static int use_jwt = 1;

static double now(void)
{
    return bench_clock_s(CLOCK_MONOTONIC);
}

typedef struct job {
    hwj_key *key;
    hwj_alg alg;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    CK_MECHANISM_TYPE mech;
    long ops;
    int failed;
} job;

static void *bare(void *arg)
{
    job *j = arg;
    CK_MECHANISM m = {j->mech, NULL, 0};
    uint8_t in[64], sig[1024];
    const uint8_t *data = in;
    CK_ULONG inlen = 0;
    static const char claims[] = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJiZW5jaCJ9";
    unsigned dlen = 0;
    if (j->mech == CKM_ECDSA) {
        EVP_Digest(claims, sizeof(claims) - 1, in, &dlen, EVP_sha256(), NULL);
        inlen = dlen;
    } else {
        data = (const uint8_t *)claims;
        inlen = sizeof(claims) - 1;
    }
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 16; i++) {
            CK_ULONG siglen = sizeof(sig);
            if (f->C_SignInit(j->s, &m, j->h) != CKR_OK ||
                f->C_Sign(j->s, (CK_BYTE *)data, inlen, sig, &siglen) != CKR_OK) {
                j->failed = 1;
                return NULL;
            }
            j->ops++;
        }
    }
    return NULL;
}

static void *lib(void *arg)
{
    job *j = arg;
    const char *aud[] = {"bench"};
    hwj_jwt_issue_opts o = {.size = sizeof(hwj_jwt_issue_opts),
                            .iss = "https://bench",
                            .sub = "user-1",
                            .aud = aud,
                            .naud = 1,
                            .ttl = 300,
                            .alg = j->alg};
    static const char claims[] =
        "{\"iss\":\"https://bench\",\"sub\":\"user-1\",\"aud\":\"bench\",\"exp\":4102444800}";
    hwj_jws_sign_opts so = {
        .size = sizeof(hwj_jws_sign_opts), .alg = j->alg, .header_json = "{\"typ\":\"JWT\"}"};
    double end = now() + seconds;
    while (now() < end) {
        for (int i = 0; i < 16; i++) {
            char *out = NULL;
            hwj_error err;
            hwj_err rc = use_jwt ? hwj_jwt_issue(j->key, &o, &out, &err)
                                 : hwj_jws_sign(j->key, (const uint8_t *)claims, sizeof(claims) - 1,
                                                &so, &out, &err);
            if (rc != HWJ_OK) {
                fprintf(stderr, "bench_pkcs11: %s\n", err.message);
                j->failed = 1;
                return NULL;
            }
            hwj_free(out);
            j->ops++;
        }
    }
    return NULL;
}

static double run(void *(*fn)(void *), job *jobs, int n)
{
    pthread_t t[2];
    long total = 0;
    for (int i = 0; i < n; i++) {
        jobs[i].ops = 0;
        pthread_create(&t[i], NULL, fn, &jobs[i]);
    }
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].failed)
            return -1;
        total += jobs[i].ops;
    }
    return (double)total / seconds;
}

static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE s, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, (void *)label, strlen(label)}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    f->C_FindObjectsInit(s, t, 2);
    f->C_FindObjects(s, &h, 1, &n);
    f->C_FindObjectsFinal(s);
    return n == 1 ? h : CK_INVALID_HANDLE;
}

static int setup_token(void)
{
    char cmd[1024];
    snprintf(dir, sizeof(dir), "/tmp/hwj-bench-p11-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "bash '%s/scripts/softhsm-token.sh' create '%s' " TOKEN " >/dev/null", HWJ_SOURCE_DIR,
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s/softhsm2.conf", dir);
    setenv("SOFTHSM2_CONF", cmd, 1);
    snprintf(pinfile, sizeof(pinfile), "%s/user.pin", dir);
    FILE *pf = fopen(pinfile, "r");
    if (pf == NULL || fgets(pin, sizeof(pin), pf) == NULL)
        return -1;
    fclose(pf);
    pin[strcspn(pin, "\n")] = '\0';
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        hwj_alg alg;
        CK_MECHANISM_TYPE mech;
    } cases[] = {{"ES256", HWJ_ALG_ES256, CKM_ECDSA},
                 {"RS256", HWJ_ALG_RS256, CKM_SHA256_RSA_PKCS},
                 {"EdDSA", HWJ_ALG_EDDSA, CKM_EDDSA}};
    hwj_ctx *ctx = NULL;
    hwj_error err;
    char uri[1024], cmd[600];
    int rc = 1;

    if (argc > 1)
        seconds = atof(argv[1]) > 0 ? atof(argv[1]) : 2.0;
    if (setup_token() != 0 || hwj_ctx_new(&ctx, &err) != HWJ_OK) {
        fprintf(stderr, "bench_pkcs11: setting up the SoftHSM token failed\n");
        return 1;
    }
    /* The bare loop's own view of the token: a separate p11-kit-managed instance. */
    CK_C_INITIALIZE_ARGS ia = {.flags = CKF_OS_LOCKING_OK};
    CK_SLOT_ID slots[8];
    CK_ULONG ns = 8;
    if ((f = p11_kit_module_load(HWJ_SOFTHSM_MODULE, 0)) == NULL ||
        f->C_Initialize(&ia) != CKR_OK || f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK ||
        ns == 0) {
        fprintf(stderr, "bench_pkcs11: cannot load %s\n", HWJ_SOFTHSM_MODULE);
        goto out;
    }
    slot = slots[0]; /* the folder holds one initialised token */
    printf("# bench_pkcs11: SoftHSM %s, %.1f s per case; hwjose = %s\n", HWJ_SOFTHSM_MODULE,
           seconds, "JWT issue (claims + header + b64url + sign in the token)");
    printf("%-6s %-7s %12s %12s %8s\n", "alg", "threads", "bare ops/s", "hwjose ops/s", "ratio");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        hwj_keygen_opts g = {.size = sizeof(hwj_keygen_opts), .alg = cases[c].alg, .bits = 2048};
        hwj_key *key = NULL;
        job jobs[2];
        snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=bench-%s?pin-source=file:%s",
                 cases[c].name, pinfile);
        if (hwj_key_generate(ctx, uri, &g, &key, &err) != HWJ_OK) {
            fprintf(stderr, "bench_pkcs11: %s\n", err.message);
            goto out;
        }
        if (c == 0) { /* is jwt.c in this build? */
            const char *aud[] = {"bench"};
            hwj_jwt_issue_opts o = {
                .size = sizeof(hwj_jwt_issue_opts), .iss = "x", .aud = aud, .naud = 1, .ttl = 60};
            char *out = NULL;
            use_jwt = hwj_jwt_issue(key, &o, &out, &err) == HWJ_OK;
            hwj_free(out);
            if (!use_jwt)
                printf("# hwj_jwt_issue unavailable (%s): timing hwj_jws_sign of JWT claims\n",
                       err.message);
        }
        for (int i = 0; i < 2; i++) {
            char label[64];
            memset(&jobs[i], 0, sizeof(jobs[i]));
            jobs[i].key = key;
            jobs[i].alg = cases[c].alg;
            jobs[i].mech = cases[c].mech;
            snprintf(label, sizeof(label), "bench-%s", cases[c].name);
            if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &jobs[i].s) != CKR_OK)
                goto out;
            CK_RV lrv = f->C_Login(jobs[i].s, CKU_USER, (CK_UTF8CHAR *)pin, strlen(pin));
            if (lrv != CKR_OK && lrv != CKR_USER_ALREADY_LOGGED_IN)
                goto out;
            jobs[i].h = find(jobs[i].s, label);
        }
        for (int threads = 1; threads <= 2; threads++) {
            double b = run(bare, jobs, threads), h = run(lib, jobs, threads);
            if (b <= 0 || h <= 0)
                goto out;
            printf("%-6s %-7d %12.0f %12.0f %7.1f%%\n", cases[c].name, threads, b, h,
                   100.0 * h / b);
            fflush(stdout);
        }
        f->C_CloseSession(jobs[0].s);
        f->C_CloseSession(jobs[1].s);
        hwj_key_free(key);
    }
    rc = 0;
out:
    hwj_ctx_free(ctx);
    snprintf(cmd, sizeof(cmd), "bash '%s/scripts/softhsm-token.sh' destroy '%s'", HWJ_SOURCE_DIR,
             dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_pkcs11: could not remove %s\n", dir);
    return rc;
}
