/* bench_dpop.c: DPoP proofs per second with a key in a token or TPM against the bare signing
 * call on the same key (hwj_key_sign over a proof-sized signing input: the token operation
 * with no JOSE around it), and proof verification per second against plain JWT verification of
 * a token from the same key. Rounds alternate the two sides so that the machine's drift hits
 * both; the median ratio is printed. With the replay cache on, verification needs a distinct
 * proof each time: those are made beforehand with the same key.
 *
 *   bench_dpop URI SECONDS [ROUNDS]        e.g. pkcs11:token=T;object=k?pin-source=file:PIN
 *                                               tpm2:file=key.pem  (HWJOSE_TCTI=...)
 * The pooled proofs must stay fresh (iat within 300 s): keep ROUNDS x 6 x SECONDS under that.
 * docs/benchmarks.md has the commands and figures. */
#include "bench_clock.h"
#include <hwjose/hwjose.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTU "https://rs.example/api/orders"
#define POOL 512

static double now(void)
{
    return bench_clock_s(CLOCK_MONOTONIC);
}

static void die(const char *what, const hwj_error *err)
{
    fprintf(stderr, "bench_dpop: %s: %s\n", what, err->message);
    exit(1);
}

enum { BARE, JWS, PROOF, JWT_VERIFY, DPOP_VERIFY, DPOP_VERIFY_REPLAY, NKINDS };
static const char *const names[] = {"bare sign",  "jws sign",    "dpop proof",
                                    "jwt verify", "dpop verify", "dpop verify + replay cache"};

struct ctx {
    hwj_key *key;
    hwj_jwks *set;
    char *jwt, *proof, *pool[POOL];
};

/* One operation of `kind`; `i` picks the pooled proof (replay cache on). */
static void op(struct ctx *c, int kind, long i, hwj_dpop_replay *replay)
{
    static const uint8_t input[240] = {'e', 'y', 'J'};
    static const hwj_alg es[] = {HWJ_ALG_ES256, HWJ_ALG_PS256, HWJ_ALG_RS256, HWJ_ALG_EDDSA};
    uint8_t sig[1024];
    size_t siglen = sizeof(sig);
    hwj_error err = {0};
    char *out = NULL;
    hwj_dpop_result *res = NULL;
    hwj_dpop_proof_opts po = {.size = sizeof(hwj_dpop_proof_opts), .htm = "POST", .htu = HTU};
    hwj_dpop_verify_opts vo = {.size = sizeof(hwj_dpop_verify_opts), .htm = "POST", .htu = HTU};
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy), .algs = es, .nalgs = 4};
    hwj_jwt_verify_opts jo = {.size = sizeof(hwj_jwt_verify_opts),
                              .policy = &pol,
                              .iss = "https://as.example",
                              .aud = "rs"};
    switch (kind) {
    case BARE:
        if (hwj_key_sign(c->key, hwj_key_default_alg(c->key), input, sizeof(input), sig, &siglen,
                         &err) != HWJ_OK)
            die("hwj_key_sign", &err);
        break;
    case JWS: /* a plain compact JWS of a proof-sized payload: JOSE without DPoP */
        if (hwj_jws_sign(c->key, input, 160, NULL, &out, &err) != HWJ_OK)
            die("hwj_jws_sign", &err);
        break;
    case PROOF:
        if (hwj_dpop_proof(c->key, &po, &out, &err) != HWJ_OK)
            die("hwj_dpop_proof", &err);
        break;
    case JWT_VERIFY:
        if (hwj_jwt_verify(c->jwt, strlen(c->jwt), c->set, &jo, &out, &err) != HWJ_OK)
            die("hwj_jwt_verify", &err);
        break;
    case DPOP_VERIFY:
    case DPOP_VERIFY_REPLAY:
        vo.replay = replay;
        if (hwj_dpop_verify(kind == DPOP_VERIFY ? c->proof : c->pool[i % POOL], &vo, &res, &err) !=
            HWJ_OK)
            die("hwj_dpop_verify", &err);
        hwj_dpop_result_free(res);
        break;
    }
    hwj_free(out);
}

static double rate(struct ctx *c, int kind, double seconds)
{
    hwj_dpop_replay *replay = NULL;
    hwj_error err = {0};
    double t0 = now(), end = t0 + seconds;
    long n = 0;
    if (kind == DPOP_VERIFY_REPLAY) {
        if (hwj_dpop_replay_new(0, 0, 0, &replay, &err) != HWJ_OK)
            die("hwj_dpop_replay_new", &err);
    }
    while (now() < end && (kind != DPOP_VERIFY_REPLAY || n < POOL))
        op(c, kind, n++, replay);
    hwj_dpop_replay_free(replay);
    return (double)n / (now() - t0);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    struct ctx c = {0};
    hwj_ctx *hctx = NULL;
    hwj_error err = {0};
    char *pub = NULL, set[4096];
    const char *aud[] = {"rs"};
    double r[NKINDS][16], ratio[3][16];
    int rounds;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_dpop URI SECONDS [ROUNDS]\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    rounds = argc > 3 ? atoi(argv[3]) : 5;
    if (rounds < 1 || rounds > 16)
        rounds = 5;
    if (hwj_ctx_new(&hctx, &err) != HWJ_OK || hwj_key_open(hctx, argv[1], NULL, &c.key, &err))
        die("opening the key", &err);
    hwj_jwt_issue_opts io = {.size = sizeof(hwj_jwt_issue_opts),
                             .iss = "https://as.example",
                             .sub = "alice",
                             .aud = aud,
                             .naud = 1,
                             .ttl = 86400};
    hwj_dpop_proof_opts po = {.size = sizeof(hwj_dpop_proof_opts), .htm = "POST", .htu = HTU};
    if (hwj_key_public_jwk(c.key, &pub, &err) != HWJ_OK)
        die("public JWK", &err);
    snprintf(set, sizeof(set), "{\"keys\":[%s]}", pub);
    if (hwj_jwks_parse(set, strlen(set), &c.set, &err) != HWJ_OK ||
        hwj_jwt_issue(c.key, &io, &c.jwt, &err) != HWJ_OK ||
        hwj_dpop_proof(c.key, &po, &c.proof, &err) != HWJ_OK)
        die("setup", &err);
    for (int i = 0; i < POOL; i++)
        if (hwj_dpop_proof(c.key, &po, &c.pool[i], &err) != HWJ_OK)
            die("proof pool", &err);
    printf("key %s, alg %s, %d rounds of %.1f s per side\n", argv[1],
           hwj_alg_name(hwj_key_default_alg(c.key)), rounds, seconds);
    for (int i = 0; i < rounds; i++) {
        for (int k = 0; k < NKINDS; k++)
            r[k][i] = rate(&c, k, seconds);
        ratio[0][i] = r[PROOF][i] / r[BARE][i];
        ratio[1][i] = r[DPOP_VERIFY][i] / r[JWT_VERIFY][i];
        ratio[2][i] = r[PROOF][i] / r[JWS][i];
        printf("round %d:", i + 1);
        for (int k = 0; k < NKINDS; k++)
            printf(" %s %.0f/s;", names[k], r[k][i]);
        printf("\n");
    }
    for (int k = 0; k < NKINDS; k++) {
        qsort(r[k], (size_t)rounds, sizeof(double), cmp);
        printf("median %-27s %10.0f /s\n", names[k], r[k][rounds / 2]);
    }
    qsort(ratio[0], (size_t)rounds, sizeof(double), cmp);
    qsort(ratio[1], (size_t)rounds, sizeof(double), cmp);
    qsort(ratio[2], (size_t)rounds, sizeof(double), cmp);
    printf("median proof / bare sign     %9.1f %%\n", 100 * ratio[0][rounds / 2]);
    printf("median proof / jws sign      %9.1f %%\n", 100 * ratio[2][rounds / 2]);
    printf("median dpop / jwt verify     %9.1f %%\n", 100 * ratio[1][rounds / 2]);
    for (int i = 0; i < POOL; i++)
        hwj_free(c.pool[i]);
    hwj_free(c.proof);
    hwj_free(c.jwt);
    hwj_free(pub);
    hwj_jwks_free(c.set);
    hwj_key_free(c.key);
    hwj_ctx_free(hctx);
    return 0;
}
