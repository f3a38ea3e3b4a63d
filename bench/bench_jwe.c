/*
 * bench_jwe.c: JWE decryption with the private key inside SoftHSM, against a bare
 * C_Decrypt loop on the same token, in the same process.
 *
 *   bench_jwe [ITERATIONS]      (default 2000)
 *
 * It creates its own SoftHSM token in a temporary directory, imports one RSA-2048 key
 * (sensitive, non-extractable), then measures for RSA-OAEP+A256GCM and
 * RSA-OAEP-256+A256GCM:
 *   baseline  C_DecryptInit + C_Decrypt of the encrypted key with the mechanism the
 *             backend uses (CKM_RSA_PKCS_OAEP; for SHA-256, where SoftHSM 2.6 refuses
 *             OAEP-SHA-256, CKM_RSA_X_509, which the backend then unpads on the host);
 *   hwjose    hwj_jwe_decrypt of a whole compact JWE (parse, unwrap in the token,
 *             AES-GCM on the host).
 * The runs take turns — bare, hwjose, bare — and the baseline is the mean of the two bare
 * runs, so load that changes during the run hits both sides. It prints ops/s and
 * hwjose/baseline. See docs/benchmarks.md.
 */
#include "bench_clock.h"
#include "test_jwe_p11import.h"

#include <hwjose/hwjose.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif
#define TOKEN "hwjose-bench"
#define PIN "1234"
#define LABEL "jwe-bench"

/* CPU time of this thread: SoftHSM works in the calling thread, so ops per CPU-second
 * compare the two loops even when other processes take the cores (wall-clock rates on a
 * shared machine moved by ±40 % between runs). */
static double now(void)
{
    return bench_clock_s(CLOCK_THREAD_CPUTIME_ID);
}

static int make_token(char *dir, size_t len)
{
    char conf[4200], cmd[4400];
    snprintf(dir, len, "%s/hwjose-bench-jwe.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(conf, sizeof(conf), "%s/softhsm2.conf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n", dir);
    fclose(f);
    setenv("SOFTHSM2_CONF", conf, 1);
    snprintf(cmd, sizeof(cmd),
             "softhsm2-util --init-token --free --label " TOKEN " --pin " PIN
             " --so-pin 87654321 >/dev/null");
    return system(cmd) == 0 ? 0 : -1;
}

/* Bare Cryptoki: the encrypted key decrypted n times; returns ops/s (0 on failure). */
static double bare_loop(hwj_alg alg, const uint8_t *ek, size_t eklen, int n, const char **mech)
{
    CK_FUNCTION_LIST *f = p11_kit_module_load(HWJ_SOFTHSM_MODULE, 0);
    CK_SLOT_ID slots[8];
    CK_ULONG ns = 8, cnt = 0;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE key;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_LABEL, LABEL, strlen(LABEL)}};
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    uint8_t out[512];
    double t0, rate = 0;

    if (f == NULL || f->C_Initialize(NULL) != CKR_OK)
        return 0;
    if (f->C_GetSlotList(CK_TRUE, slots, &ns) != CKR_OK || ns == 0 ||
        f->C_OpenSession(slots[0], CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)PIN, strlen(PIN)) != CKR_OK ||
        f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK ||
        f->C_FindObjects(s, &key, 1, &cnt) != CKR_OK || f->C_FindObjectsFinal(s) != CKR_OK ||
        cnt != 1)
        goto out;
    if (alg == HWJ_ALG_RSA_OAEP_256) {
        CK_ULONG outlen = sizeof(out);
        oaep.hashAlg = CKM_SHA256;
        oaep.mgf = CKG_MGF1_SHA256;
        if (f->C_DecryptInit(s, &m, key) != CKR_OK ||
            f->C_Decrypt(s, (CK_BYTE *)ek, eklen, out, &outlen) != CKR_OK) {
            m.mechanism = CKM_RSA_X_509; /* what the backend falls back to */
            m.pParameter = NULL;
            m.ulParameterLen = 0;
        }
    }
    *mech = m.mechanism == CKM_RSA_X_509 ? "CKM_RSA_X_509" : "CKM_RSA_PKCS_OAEP";
    t0 = now();
    for (int i = 0; i < n; i++) {
        CK_ULONG outlen = sizeof(out);
        if (f->C_DecryptInit(s, &m, key) != CKR_OK ||
            f->C_Decrypt(s, (CK_BYTE *)ek, eklen, out, &outlen) != CKR_OK)
            goto out;
    }
    rate = n / (now() - t0);
out:
    f->C_Finalize(NULL);
    p11_kit_module_release(f);
    return rate;
}

static double hwjose_loop(hwj_key *key, const char *jwe, hwj_alg alg, int n)
{
    static const hwj_alg encs[] = {HWJ_ENC_A256GCM};
    hwj_jwe_decrypt_opts o = {.size = sizeof(hwj_jwe_decrypt_opts),
                              .algs = &alg,
                              .nalgs = 1,
                              .encs = encs,
                              .nencs = 1,
                              .key = key};
    hwj_error err;
    double t0 = now();
    for (int i = 0; i < n; i++) {
        hwj_jwe_result *res = NULL;
        if (hwj_jwe_decrypt(jwe, strlen(jwe), &o, &res, &err) != HWJ_OK) {
            fprintf(stderr, "bench_jwe: decrypt failed: %s\n", err.message);
            return 0;
        }
        hwj_jwe_result_free(res);
    }
    return n / (now() - t0);
}

/* The encrypted key (second compact part), decoded, for the bare loop. */
static size_t encrypted_key(const char *jwe, uint8_t *out, size_t cap)
{
    const char *a = strchr(jwe, '.') + 1, *b = strchr(a, '.');
    size_t n = (size_t)(b - a), len;
    char *tmp = malloc(n + 4);
    memcpy(tmp, a, n);
    for (size_t i = 0; i < n; i++)
        tmp[i] = tmp[i] == '-' ? '+' : tmp[i] == '_' ? '/' : tmp[i];
    while (n % 4)
        tmp[n++] = '=';
    len = (size_t)EVP_DecodeBlock(out, (const unsigned char *)tmp, (int)n);
    while (n > 0 && tmp[--n] == '=')
        len--;
    free(tmp);
    return len <= cap ? len : 0;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    char dir[4096], uri[512];
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    hwj_ctx *ctx = NULL;
    hwj_key *key = NULL;
    hwj_jwk *pub = NULL;
    hwj_key_open_opts ko = {.size = sizeof(hwj_key_open_opts), .pin = PIN};
    hwj_error err;
    static const hwj_alg algs[] = {HWJ_ALG_RSA_OAEP_256, HWJ_ALG_RSA_OAEP};
    uint8_t pt[256];

    if (n <= 0 || pk == NULL || make_token(dir, sizeof(dir)) != 0 ||
        jt_p11_import(HWJ_SOFTHSM_MODULE, TOKEN, PIN, pk, LABEL, 1) != 0) {
        fprintf(stderr, "bench_jwe: setting up the SoftHSM token failed\n");
        return 1;
    }
    RAND_bytes(pt, sizeof(pt));
    snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";object=" LABEL "?module-path=%s",
             HWJ_SOFTHSM_MODULE);
    printf("# bench_jwe: %d decryptions each, RSA-2048 in SoftHSM, 256-byte payload\n", n);
    printf("%-24s %16s %16s %8s  %s\n", "alg+enc", "bare ops/CPU-s", "hwjose ops/CPU-s", "ratio",
           "baseline mechanism");
    for (size_t i = 0; i < 2; i++) {
        hwj_jwe_recipient r = {.size = sizeof(hwj_jwe_recipient), .alg = algs[i]};
        hwj_jwe_encrypt_opts eo = {.size = sizeof(hwj_jwe_encrypt_opts), .enc = HWJ_ENC_A256GCM};
        const char *mech = "?";
        char *jwe = NULL;
        uint8_t ek[512];
        size_t eklen = 0;
        double bare[2] = {0, 0}, hw = 0;
        /* The bare loop initializes and finalizes the module itself, so hwjose's context
         * (which holds the module) is open only around its own loop. */
        for (int round = 0; round < 3; round++) {
            if (round == 1 || jwe == NULL) {
                if (hwj_ctx_new(&ctx, &err) != HWJ_OK ||
                    hwj_key_open(ctx, uri, &ko, &key, &err) != HWJ_OK ||
                    hwj_jwk_from_key(key, &pub, &err) != HWJ_OK) {
                    fprintf(stderr, "bench_jwe: opening '%s': %s\n", uri, err.message);
                    return 1;
                }
                r.jwk = pub;
                if (jwe == NULL &&
                    hwj_jwe_encrypt(&r, 1, pt, sizeof(pt), &eo, &jwe, &err) != HWJ_OK) {
                    fprintf(stderr, "bench_jwe: encrypt: %s\n", err.message);
                    return 1;
                }
                if (round == 1)
                    hw = hwjose_loop(key, jwe, algs[i], n);
                hwj_jwk_free(pub);
                hwj_key_free(key);
                hwj_ctx_free(ctx);
                pub = NULL;
                key = NULL;
                ctx = NULL;
                eklen = encrypted_key(jwe, ek, sizeof(ek));
            }
            if (round != 1)
                bare[round / 2] = bare_loop(algs[i], ek, eklen, n, &mech);
        }
        double base = (bare[0] + bare[1]) / 2;
        printf("%-24s %16.0f %16.0f %7.1f%%  %s (bare runs %.0f, %.0f)\n",
               i == 0 ? "RSA-OAEP-256+A256GCM" : "RSA-OAEP+A256GCM", base, hw,
               base > 0 ? 100.0 * hw / base : 0.0, mech, bare[0], bare[1]);
        hwj_free(jwe);
    }
    EVP_PKEY_free(pk);
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
