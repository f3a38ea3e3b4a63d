/* jwt_internal.h: what issuing (jwt.c) and validating (jwt_verify.c) JWTs share. */
#ifndef HWJ_JOSE_JWT_INTERNAL_H
#define HWJ_JOSE_JWT_INTERNAL_H

#include <hwjose/jwt.h>

#include <stdint.h>
#include <time.h>

/* Durations, leeways and dates are bounded so that no sum of two of them can overflow. */
#define JWT_MAX_DURATION ((int64_t)36500 * 86400) /* 100 years */
#define JWT_MAX_DATE ((int64_t)1 << 53)           /* exact in a double, far beyond any use */
#define JWT_JTI_BYTES 16
#define JWT_SHOWN_MAX 64 /* characters of a token's value quoted in an error */

static inline int64_t now_of(hwj_clock_fn clock, void *arg)
{
    return clock != NULL ? clock(arg) : (int64_t)time(NULL);
}

#endif
