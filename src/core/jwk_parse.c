/* jwk_parse.c: the JWK entry points from text and files — size bound, strict JSON, then
 * hwj_jwk_from_json (jwk.c) — and the ROCA policy (CVE-2017-15361) with its opt-out. */
#include "core/jwk.h"

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/roca.h"

#include "core/opts.h"

#include <hwjose/jwk.h>

/* hwj_jwk_read_file and hwj_jwk_parse refuse larger input. */
#define JWK_MAX_SIZE ((size_t)1024 * 1024)

HWJ_EXPORT hwj_err hwj_jwk_parse_ex(const char *json, size_t len, const hwj_jwk_parse_opts *opts,
                                    hwj_jwk **out, hwj_error *err)
{
    json_t *obj = NULL;
    hwj_jwk *jwk = NULL;
    hwj_jwk_parse_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if (json == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_parse: missing argument");
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_jwk_parse_opts, err)) != HWJ_OK)
        return rc;
    if (len > JWK_MAX_SIZE)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "JWK is larger than %zu bytes", JWK_MAX_SIZE);
    if ((rc = hwj_json_parse_object(json, len, 0, "JWK", &obj, err)) != HWJ_OK)
        return rc;
    rc = hwj_jwk_from_json(obj, &jwk, err);
    json_decref(obj);
    if (rc == HWJ_OK && jwk->roca && !o.allow_roca) {
        hwj_jwk_free(jwk);
        return hwj_roca_refuse("the JWK", 0, err);
    }
    if (rc == HWJ_OK)
        *out = jwk;
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwk_parse(const char *json, size_t len, hwj_jwk **out, hwj_error *err)
{
    return hwj_jwk_parse_ex(json, len, NULL, out, err);
}

HWJ_EXPORT hwj_err hwj_jwk_read_file_ex(const char *path, const hwj_jwk_parse_opts *opts,
                                        hwj_jwk **out, hwj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (path == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_read_file: missing argument");
    if ((rc = hwj_file_read(path, JWK_MAX_SIZE, "JWK file", &text, &len, err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_jwk_parse_ex(text, len, opts, out, err)) != HWJ_OK)
        hwj_error_prefix(err, "JWK file '%s'", path);
    hwj_free_secret(text, len + 1); /* may hold private members */
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwk_read_file(const char *path, hwj_jwk **out, hwj_error *err)
{
    return hwj_jwk_read_file_ex(path, NULL, out, err);
}
