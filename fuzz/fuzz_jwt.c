/* fuzz_jwt: JWT validation (RFC 7519, RFC 8725): signature against the fixed key set, then
 * the claims at a fixed clock, under a strict and a lenient policy. Invariant: success
 * returns a claims object that parses as JSON. */
#include "common.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int pass = 0; pass < 2 * FZ_NVERIFY_SETS; pass++) {
        const hwj_jwks *keys = fz_verify_set((size_t)pass / 2);
        int lenient = pass % 2;
        hwj_error err = {0};
        char *claims = NULL;
        hwj_jwt_verify_opts o = {.size = sizeof(hwj_jwt_verify_opts),
                                 .policy = &(hwj_verify_policy){.size = sizeof(hwj_verify_policy),
                                                                .algs = fz_jws_algs,
                                                                .nalgs = fz_njws_algs,
                                                                .max_size = 64 * 1024},
                                 .iss = FZ_ISS,
                                 .aud = FZ_AUD,
                                 .sub = lenient ? NULL : "alice",
                                 .leeway = lenient ? 60 : 0,
                                 .max_age = lenient ? 0 : 3600,
                                 .typ = lenient ? NULL : "JWT",
                                 .allow_no_exp = lenient,
                                 .clock = fz_clock};
        hwj_err rc = hwj_jwt_verify((const char *)data, size, keys, &o, &claims, &err);
        fz_report(lenient ? "jwt lenient" : "jwt strict", rc, &err);
        if (rc == HWJ_OK) {
            json_t *j = NULL;
            if (!claims ||
                hwj_json_parse_object(claims, strlen(claims), 0, "claims", &j, &err) != HWJ_OK)
                abort();
            json_decref(j);
        } else if (claims || err.code != rc) {
            abort();
        }
        hwj_free(claims);
    }
    return 0;
}
