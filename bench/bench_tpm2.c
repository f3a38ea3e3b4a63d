/*
 * bench_tpm2.c: signing with the key inside a TPM (swtpm), through hwjose, against a bare
 * ESAPI Esys_Sign loop on the same key, the same swtpm, in the same process.
 *
 *   bench_tpm2 [SECONDS]      (default 2 per case)
 *
 * Starts its own swtpm with scripts/swtpm.sh in a temporary folder, generates ES256 (P-256)
 * and RS256 (2048) key files with hwj_key_generate, then measures per alg:
 *   bare      Esys_Sign on the loaded key over a precomputed digest (null ticket);
 *   key_sign  hwj_key_sign over a JWS signing input: host hashing, the serialised ESAPI
 *             context, r||s conversion;
 *   jws_sign  hwj_jws_sign of a small payload: header, base64url, the above.
 * swtpm serves one connection at a time, so the bare loop and hwjose take turns (each
 * disconnects when done): bare, hwjose, bare again; the baseline is the mean of both bare
 * runs. Prints ops/s and hwjose/bare. See docs/benchmarks.md ("TPM 2.0").
 */
#include "bench_clock.h"
#include "keys/tpm2_internal.h"

#include <hwjose/hwjose.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

static double seconds = 2.0;
static char dir[256], tcti[256];

static double now(void)
{
    return bench_clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_tpm2: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void swtpm(const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof(line), "bash '%s/scripts/swtpm.sh' %s '%s'", HWJ_SOURCE_DIR, cmd, dir);
    if (system(line) != 0)
        die("scripts/swtpm.sh failed", cmd);
}

/* ops/s of a bare Esys_Sign loop with the key in `path`. */
static double bare(const char *path, int ecc)
{
    static const TPM2B_PUBLIC primary = {
        .publicArea = {.type = TPM2_ALG_ECC,
                       .nameAlg = TPM2_ALG_SHA256,
                       .objectAttributes = TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED |
                                           TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA |
                                           TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                           TPMA_OBJECT_SENSITIVEDATAORIGIN,
                       .parameters.eccDetail = {.symmetric = {.algorithm = TPM2_ALG_AES,
                                                              .keyBits.aes = 128,
                                                              .mode.aes = TPM2_ALG_CFB},
                                                .scheme = {.scheme = TPM2_ALG_NULL},
                                                .curveID = TPM2_ECC_NIST_P256,
                                                .kdf = {.scheme = TPM2_ALG_NULL}}}};
    static const TPM2B_SENSITIVE_CREATE sens = {0};
    static const TPM2B_DATA outside = {0};
    static const TPML_PCR_SELECTION pcrs = {0};
    static const TPMT_TK_HASHCHECK ticket = {.tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL};
    TSS2_TCTI_CONTEXT *tctx = NULL;
    ESYS_CONTEXT *esys = NULL;
    ESYS_TR prim = ESYS_TR_NONE, key = ESYS_TR_NONE;
    tpm2_keyfile kf;
    hwj_error err = {0};
    TPM2B_DIGEST digest = {.size = 32};
    TPMT_SIG_SCHEME scheme = {.scheme = ecc ? TPM2_ALG_ECDSA : TPM2_ALG_RSASSA,
                              .details.any.hashAlg = TPM2_ALG_SHA256};
    long n = 0;

    memset(digest.buffer, 0x5a, 32);
    if (tpm2_keyfile_read(path, &kf, &err) != HWJ_OK)
        die("reading the key file", err.message);
    if (Tss2_TctiLdr_Initialize(tcti, &tctx) || Esys_Initialize(&esys, tctx, NULL))
        die("connecting to swtpm", tcti);
    if (Esys_CreatePrimary(esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &sens, &primary, &outside, &pcrs, &prim, NULL, NULL, NULL, NULL) ||
        Esys_Load(esys, prim, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &kf.priv, &kf.pub,
                  &key))
        die("loading the key (bare)", NULL);
    double t0 = now(), t;
    do {
        TPMT_SIGNATURE *sig = NULL;
        if (Esys_Sign(esys, key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &digest, &scheme,
                      &ticket, &sig))
            die("Esys_Sign", NULL);
        Esys_Free(sig);
        n++;
    } while ((t = now() - t0) < seconds);
    Esys_FlushContext(esys, key);
    Esys_FlushContext(esys, prim);
    Esys_Finalize(&esys);
    Tss2_TctiLdr_Finalize(&tctx);
    return (double)n / t;
}

/* ops/s of hwj_key_sign (jws=0) or hwj_jws_sign (jws=1) with the key at `uri`. */
static double through_hwjose(const char *uri, hwj_alg alg, int jws)
{
    static const uint8_t input[] =
        "eyJhbGciOiJFUzI1NiIsImtpZCI6ImJlbmNoIn0.eyJpc3MiOiJiZW5jaCIsInN1YiI6InRwbSJ9";
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_error err = {0};
    hwj_jws_sign_opts so = {.size = sizeof(hwj_jws_sign_opts), .alg = alg};
    long n = 0;

    if (hwj_ctx_new(&ctx, &err) || hwj_key_open(ctx, uri, NULL, &key, &err))
        die("opening the key", err.message);
    double t0 = now(), t;
    do {
        if (jws) {
            char *out = NULL;
            if (hwj_jws_sign(key, (const uint8_t *)"{\"iss\":\"bench\"}", 15, &so, &out, &err))
                die("hwj_jws_sign", err.message);
            hwj_free(out);
        } else {
            uint8_t sig[HWJ_SIG_MAX];
            size_t siglen = sizeof(sig);
            if (hwj_key_sign(key, alg, input, sizeof(input) - 1, sig, &siglen, &err))
                die("hwj_key_sign", err.message);
        }
        n++;
    } while ((t = now() - t0) < seconds);
    hwj_key_free(key);
    hwj_ctx_free(ctx); /* disconnects: swtpm serves one connection at a time */
    return (double)n / t;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        hwj_alg alg;
        unsigned bits;
        int ecc;
    } cases[] = {{"ES256", HWJ_ALG_ES256, 0, 1}, {"RS256", HWJ_ALG_RS256, 2048, 0}};
    char tmpl[] = "/tmp/hwj-bench-tpm2-XXXXXX", path[512], uri[600];

    if (argc > 1 && (seconds = atof(argv[1])) <= 0)
        die("usage: bench_tpm2 [SECONDS]", NULL);
    if (mkdtemp(tmpl) == NULL)
        die("mkdtemp", NULL);
    snprintf(dir, sizeof(dir), "%s/swtpm", tmpl);
    swtpm("start");
    snprintf(path, sizeof(path), "%s/tcti", dir);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(tcti, sizeof(tcti), f) == NULL)
        die("reading the swtpm TCTI", path);
    fclose(f);
    tcti[strcspn(tcti, "\n")] = '\0';
    setenv("HWJOSE_TCTI", tcti, 1);

    printf("TPM 2.0 (swtpm, %s), %.1f s per case\n", tcti, seconds);
    printf("%-6s %12s %12s %12s %10s %10s\n", "alg", "bare ops/s", "key_sign", "jws_sign",
           "key/bare", "jws/bare");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hwj_keygen_opts ko = {
            .size = sizeof(hwj_keygen_opts), .alg = cases[i].alg, .bits = cases[i].bits};
        hwj_ctx *ctx = NULL;
        hwj_key *key = NULL;
        hwj_error err = {0};
        snprintf(path, sizeof(path), "%s/%s.pem", tmpl, cases[i].name);
        snprintf(uri, sizeof(uri), "tpm2:file=%s", path);
        if (hwj_ctx_new(&ctx, &err) || hwj_key_generate(ctx, uri, &ko, &key, &err))
            die("generating the key", err.message);
        hwj_key_free(key);
        hwj_ctx_free(ctx);

        double b1 = bare(path, cases[i].ecc);
        double ks = through_hwjose(uri, cases[i].alg, 0);
        double js = through_hwjose(uri, cases[i].alg, 1);
        double b2 = bare(path, cases[i].ecc);
        double b = (b1 + b2) / 2;
        printf("%-6s %12.0f %12.0f %12.0f %9.1f%% %9.1f%%\n", cases[i].name, b, ks, js,
               100 * ks / b, 100 * js / b);
        unlink(path);
    }
    swtpm("destroy");
    rmdir(tmpl);
    return 0;
}
