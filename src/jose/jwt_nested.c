/* jwt_nested.c: the nested JWT (RFC 7519 §11.2, RFC 7516 §4.1.12): sign inside the
 * issuer's token, then encrypt to the receiver; decrypt inside the receiver's token,
 * then verify the inner JWS against the issuer's keys and check its claims. */
#include "core/error.h"
#include "core/opts.h"

#include <hwjose/jwe.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

HWJ_EXPORT hwj_err hwj_jwt_issue_nested(hwj_key *key, const hwj_jwt_issue_opts *iopts,
                                        const hwj_jwe_recipient *to,
                                        const hwj_jwe_encrypt_opts *eopts, char **jwe,
                                        hwj_error *err)
{
    hwj_jwe_encrypt_opts eo;
    char *jws = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || iopts == NULL || to == NULL || jwe == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_issue_nested: missing argument");
    if ((rc = HWJ_OPTS_LOAD(eo, eopts, hwj_jwe_encrypt_opts, err)) != HWJ_OK)
        return rc;
    eo.cty = "JWT"; /* RFC 7519 §5.2: the payload is itself a JWT */
    if ((rc = hwj_jwt_issue(key, iopts, &jws, err)) != HWJ_OK) {
        hwj_error_prefix(err, "signing the inner JWT");
        return rc;
    }
    rc = hwj_jwe_encrypt(to, 1, (const uint8_t *)jws, strlen(jws), &eo, jwe, err);
    hwj_free(jws);
    if (rc != HWJ_OK) {
        hwj_error_prefix(err, "encrypting the JWT");
        return rc;
    }
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwt_verify_nested(const char *jwe, size_t len,
                                         const hwj_jwe_decrypt_opts *dopts, const hwj_jwks *keys,
                                         const hwj_jwt_verify_opts *vopts, char **claims_json,
                                         hwj_error *err)
{
    hwj_jwe_result *res = NULL;
    json_t *hdr = NULL;
    const char *cty;
    hwj_err rc;

    hwj_error_reset(err);
    if (jwe == NULL || dopts == NULL || keys == NULL || vopts == NULL || claims_json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_verify_nested: missing argument");
    /* A JWT is compact (RFC 7519 §7.2), the outer JWE too, whatever dopts->allow_json says. */
    size_t at = 0;
    while (at < len && (jwe[at] == ' ' || jwe[at] == '\t' || jwe[at] == '\n' || jwe[at] == '\r'))
        at++;
    if (at < len && jwe[at] == '{')
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "a nested JWT is a compact JWE (RFC 7519 §7.2), not JSON");
    if ((rc = hwj_jwe_decrypt(jwe, len, dopts, &res, err)) != HWJ_OK)
        return rc;
    hdr = json_loads(res->header_json, 0, NULL);
    cty = json_string_value(json_object_get(hdr, "cty"));
    /* RFC 7515 §4.1.10: "JWT" and "application/JWT" are one media type, in any case. */
    if (cty != NULL && strncasecmp(cty, "application/", 12) == 0)
        cty += 12;
    if (cty == NULL || strcasecmp(cty, "JWT") != 0) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "the JWE does not carry a nested JWT (\"cty\" is not \"JWT\")");
        goto out;
    }
    /* One level only: the inner token must be a compact JWS (3 parts), not a JWE. */
    size_t dots = 0;
    for (size_t i = 0; i < res->plaintext_len; i++)
        dots += res->plaintext[i] == '.';
    if (dots != 2) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY, "the nested token is not a compact JWS");
        goto out;
    }
    rc = hwj_jwt_verify((const char *)res->plaintext, res->plaintext_len, keys, vopts, claims_json,
                        err);
out:
    json_decref(hdr);
    hwj_jwe_result_free(res);
    return rc;
}
