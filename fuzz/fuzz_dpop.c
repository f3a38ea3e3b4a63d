/* fuzz_dpop: DPoP proof verification (RFC 9449 §4.3) and htu normalisation on hostile input.
 * The input is a proof (verified at a fixed clock, with and without a replay cache, the proof's
 * key from its own header) and a URL. Invariants: a verified proof yields a thumbprint, a JWK and
 * claims; a failure leaves the output untouched and sets the error code; htu normalisation is
 * idempotent and never accepts what its own output would refuse. */
#include "common.h"

#include <hwjose/dpop.h>
#include <stdlib.h>
#include <string.h>

static void check_htu(const char *url)
{
    hwj_error err = {0};
    char *once = NULL, *twice = NULL;
    if (hwj_dpop_htu_normalize(url, &once, &err) != HWJ_OK) {
        if (once != NULL || err.code == HWJ_OK)
            abort();
        return;
    }
    /* normalising a normal form changes nothing (an empty path's "/" may take a URL at the
     * 8 KiB limit one byte past it, which the second call then refuses as too long) */
    if (strlen(once) <= 8192 &&
        (hwj_dpop_htu_normalize(once, &twice, &err) != HWJ_OK || strcmp(once, twice) != 0))
        abort();
    hwj_free(twice);
    hwj_free(once);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hwj_dpop_replay *replay;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (replay == NULL && hwj_dpop_replay_new(64, 0, 0, &replay, NULL) != HWJ_OK)
        abort();
    for (int cached = 0; cached < 2; cached++) {
        hwj_error err = {0};
        hwj_dpop_result *res = NULL;
        hwj_dpop_verify_opts o = {.size = sizeof(hwj_dpop_verify_opts),
                                  .htm = "POST",
                                  .htu = "https://rs.example/api",
                                  .max_age = 315000000, /* let fuzzed iat values through */
                                  .leeway = 315000000,
                                  .replay = cached ? replay : NULL,
                                  .clock = fz_clock};
        hwj_err rc = hwj_dpop_verify(text, &o, &res, &err);
        fz_report(cached ? "dpop cached" : "dpop", rc, &err);
        if (rc == HWJ_OK) {
            if (res == NULL || res->jkt == NULL || res->jwk_json == NULL ||
                res->claims_json == NULL)
                abort();
        } else if (res != NULL || err.code != rc) {
            abort();
        }
        hwj_dpop_result_free(res);
    }
    check_htu(text);
    free(text);
    return 0;
}
