/* jws_verify.c: verify one JWS against the fixed key set under two policies (with and
 * without unprotected "alg"), and with a detached payload when it has none. Invariants on
 * success: the result names a key of the set, an allowed alg and a NUL-terminated payload. */
#include "jws_verify.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char *const crit[] = {"exp", "http://example.invalid/UNDEFINED"};
static const uint8_t detached[] = "It\xe2\x80\x99s a dangerous business, Frodo";

static void check(const hwj_jws_result *res, const hwj_verify_policy *pol)
{
    int allowed = 0;
    for (size_t i = 0; i < pol->nalgs; i++)
        allowed |= pol->algs[i] == res->alg;
    if (!allowed || !res->key || !res->protected_json || (res->payload_len && !res->payload) ||
        (res->payload && res->payload[res->payload_len] != '\0'))
        abort();
}

static void verify_with(const hwj_jwks *keys, const uint8_t *data, size_t size)
{
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .algs = fz_jws_algs,
                             .nalgs = fz_njws_algs,
                             .crit = crit,
                             .ncrit = 2,
                             .max_size = 64 * 1024,
                             .allow_json = 1}; /* fuzz_jws_json shares this harness */
    /* Pass 0: strict; 1: alg may be unprotected; 2: with a detached payload, only when the
     * JWS is malformed without one (most likely it carries none). */
    hwj_err first = HWJ_OK;
    for (int pass = 0; pass < 3; pass++) {
        hwj_error err = {0};
        hwj_jws_result *res = NULL;
        if (pass == 2 && first != HWJ_ERR_PARSE)
            break;
        pol.allow_unprotected_alg = pass > 0;
        hwj_err rc =
            hwj_jws_verify((const char *)data, size, keys, &pol, pass == 2 ? detached : NULL,
                           pass == 2 ? sizeof(detached) - 1 : 0, &res, &err);
        fz_report("jws", rc, &err);
        if (pass == 0)
            first = rc;
        if (rc == HWJ_OK)
            check(res, &pol);
        else if (res || err.code != rc || !memchr(err.message, '\0', sizeof(err.message)))
            abort();
        hwj_jws_result_free(res);
    }
}

void fz_jws_verify(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < FZ_NVERIFY_SETS; i++)
        verify_with(fz_verify_set(i), data, size);
}
