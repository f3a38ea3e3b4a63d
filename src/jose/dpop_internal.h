/* dpop_internal.h: what dpop.c, dpop_verify.c and dpop_replay.c share. */
#ifndef HWJ_JOSE_DPOP_INTERNAL_H
#define HWJ_JOSE_DPOP_INTERNAL_H
#include <hwjose/dpop.h>

int64_t hwj_dpop_now(hwj_clock_fn clock, void *arg);
/* An asymmetric JWS alg (never HMAC; "none" has no hwj_alg). */
int hwj_dpop_alg_ok(hwj_alg alg);
/* Remember (jkt, htu, jti) accepted at `now` with the proof's `iat`: HWJ_ERR_CLAIMS when it is
 * already there (a replay), HWJ_ERR_LIMIT when the cache is full of live entries. */
hwj_err hwj_dpop_replay_check(hwj_dpop_replay *cache, const char *jkt, const char *htu,
                              const char *jti, int64_t iat, int64_t now, hwj_error *err);
#endif
