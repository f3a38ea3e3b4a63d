/* common.h: what the fuzz targets share — fixed software keys from tests/data, a fixed
 * clock, and the alg lists. Keys are loaded once (LLVMFuzzerInitialize, or on first use
 * by the replay driver) and never freed: they live as long as the process. */
#ifndef HWJ_FUZZ_COMMON_H
#define HWJ_FUZZ_COMMON_H

#include <hwjose/hwjose.h>
#include <stddef.h>
#include <stdint.h>

/* The fixed "now" of every JWT check: 2023-11-14T22:13:20Z. */
#define FZ_NOW INT64_C(1700000000)
/* PBES2 iterations the fuzzer accepts: the RFC 7518 minimum, so one exec stays cheap. */
#define FZ_MAX_P2C 1000u
#define FZ_PASSWORD "entrap_o_peter_long_credit_tun"
#define FZ_ISS "https://issuer.test"
#define FZ_AUD "svc-a"

int64_t fz_clock(void *arg);
/* Abort with a message (a broken fuzz harness, never an input's fault). */
void fz_die(const char *what, const hwj_error *err);

/* With HWJ_FUZZ_DEBUG set, print what an input came to (to check that seeds get deep). */
void fz_report(const char *what, hwj_err rc, const hwj_error *err);

/* Verification keys: the public halves of every tests/data key, the oct keys, and the
 * RFC 7520 cookbook keys (fuzz/keys/rfc7520.jwks, and its RSA key in rfc7520-rsa.jwk), in sets a
 * verifier accepts (no oct beside asymmetric keys, no kid twice): 0 the asymmetric keys but the
 * cookbook's RSA key, 1 that key (its kid is also the cookbook EC key's), 2 the oct keys. */
#define FZ_NVERIFY_SETS 3
const hwj_jwks *fz_verify_set(size_t i);
/* Private keys for JWE decryption, opened with the software backend. */
hwj_key *fz_key_rsa(void);     /* tests/data/soft-rsa2048.pem */
hwj_key *fz_key_p256(void);    /* tests/data/soft-p256.pem */
const hwj_jwk *fz_oct16(void); /* tests/data/soft-oct16.json */
const hwj_jwk *fz_oct32(void); /* fuzz/keys/oct32.json */
const hwj_jwk *fz_oct64(void); /* tests/data/soft-oct64.json */

extern const hwj_alg fz_jws_algs[];
extern const size_t fz_njws_algs;
extern const hwj_alg fz_encs[];
extern const size_t fz_nencs;

/* The path of a file in the source tree (static buffer per call site is not needed:
 * the result is malloc'd and never freed). */
char *fz_path(const char *rel);

#endif
