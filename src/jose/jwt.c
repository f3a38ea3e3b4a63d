/* jwt.c: JSON Web Tokens (RFC 7519) issued through hwj_jws_sign and validated after
 * hwj_jws_verify under RFC 8725: iss and aud are required and explicit, exp is required
 * (unless the caller opts out), the leeway is bounded, typ is checked, every registered
 * claim that is present must have its registered type.
 *
 * Decisions (docs/cli.md, "JWT rules"):
 *  - Issue: registered claims set by the options (iss, aud, iat, nbf, exp, and sub / jti when
 *    given or generated) win over the same names in claims_json; claims_json's other members
 *    follow them in their own order.
 *  - NumericDate may be fractional (RFC 7519 §2); each comparison rounds in the direction
 *    that never accepts a token the exact comparison would refuse.
 *  - typ compares as RFC 7515 §4.1.9 says media types compare: case-insensitively, with
 *    the "application/" prefix optional. */
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jview.h"
#include "core/jwrite.h"
#include "core/opts.h"
#include "core/rand_pool.h"
#include "jose/jws_internal.h"
#include "jose/jwt_internal.h"

#include <hwjose/jwt.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* --- durations ------------------------------------------------------------------------- */

HWJ_EXPORT hwj_err hwj_duration_parse(const char *text, int64_t *seconds, hwj_error *err)
{
    int64_t v = 0, unit = 1;
    const char *p = text;

    hwj_error_reset(err);
    if (text == NULL || seconds == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_duration_parse: missing argument");
    if (*p < '0' || *p > '9')
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "'%.32s' is not a duration; write a whole number of seconds with an "
                             "optional unit: 90, 90s, 15m, 12h, 7d",
                             text);
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > JWT_MAX_DURATION)
            break; /* keep reading only to report the limit, never to overflow */
        v = v * 10 + (*p - '0');
    }
    while (*p >= '0' && *p <= '9')
        p++;
    switch (*p) {
    case '\0': break;
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: p = NULL;
    }
    if (p == NULL || (*p != '\0' && p[1] != '\0'))
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "'%.32s' is not a duration; write a whole number of seconds with an "
                             "optional unit: 90, 90s, 15m, 12h, 7d",
                             text);
    if (v > JWT_MAX_DURATION / unit)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "duration '%.32s' is longer than 100 years", text);
    *seconds = v * unit;
    return HWJ_OK;
}

/* --- issuing --------------------------------------------------------------------------- */

static hwj_err set_claim(json_t *obj, const char *name, json_t *v, hwj_error *err)
{
    if (v == NULL || json_object_set_new(obj, name, v) != 0)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory building the JWT claims");
    return HWJ_OK;
}

static hwj_err issue_check(const hwj_jwt_issue_opts *o, hwj_error *err)
{
    const struct {
        const char *name, *value;
    } strings[] = {{"iss", o->iss}, {"sub", o->sub}, {"typ", o->typ}, {"kid", o->kid}};

    if (o->iss == NULL || *o->iss == '\0')
        return hwj_error_set(err, HWJ_ERR_ARG, "a JWT needs an issuer (iss)");
    /* JSON strings are UTF-8 (RFC 8259 §8.1): say so, rather than fail later in Jansson */
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (strings[i].value != NULL && !hwj_utf8_valid(strings[i].value))
            return hwj_error_set(err, HWJ_ERR_ARG, "the JWT's %s is not valid UTF-8",
                                 strings[i].name);
    for (size_t i = 0; i < o->naud && o->aud != NULL; i++)
        if (o->aud[i] != NULL && !hwj_utf8_valid(o->aud[i]))
            return hwj_error_set(err, HWJ_ERR_ARG, "audience %zu is not valid UTF-8", i + 1);
    if (o->naud == 0 || o->aud == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "a JWT needs at least one audience (aud)");
    for (size_t i = 0; i < o->naud; i++)
        if (o->aud[i] == NULL || *o->aud[i] == '\0')
            return hwj_error_set(err, HWJ_ERR_ARG, "audience %zu is empty", i + 1);
    if (o->ttl <= 0 || o->ttl > JWT_MAX_DURATION)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "a JWT needs a lifetime (ttl) between 1 second and 100 years");
    if (o->nbf_offset >= o->ttl || o->nbf_offset < -JWT_MAX_DURATION)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "nbf_offset must be less than the lifetime (the token would never "
                             "be valid)");
    return HWJ_OK;
}

/* A fresh jti, base64url of JWT_JTI_BYTES random bytes; 0 when the generator failed. */
static int draw_jti(char text[32])
{
    uint8_t raw[JWT_JTI_BYTES];
    if (!hwj_rand_public(raw, sizeof(raw))) /* public once issued: no fork check per token */
        return 0;
    hwj_b64url_encode_to(raw, sizeof(raw), text);
    return 1;
}

static hwj_err new_jti(json_t **out, hwj_error *err)
{
    char text[32];
    if (!draw_jti(text))
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "random jti");
    if ((*out = json_string(text)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}

/* The registered claims of RFC 7519 §4.1 that the issuer sets: with refuse_registered, a
 * claims_json naming one is refused rather than overridden (the one rule the CLI's --claim and
 * the service's request claims both rely on). */
static int is_registered(const char *name)
{
    static const char *const registered[] = {"iss", "sub", "aud", "exp", "nbf", "iat", "jti"};
    for (size_t i = 0; i < sizeof(registered) / sizeof(registered[0]); i++)
        if (strcmp(name, registered[i]) == 0)
            return 1;
    return 0;
}

/* issue_claims' text without Jansson when every value is of the common shape
 * (core/jwrite.h) and claims_json breaks none of its rules: the same bytes json_dumps would
 * give. 0: not handled (the Jansson path builds it, or words the refusal). */
static int claims_fast(const hwj_jwt_issue_opts *o, int64_t iat, char **out)
{
    hwj_jv_doc extra;
    hwj_jw w;
    char jti[32];
    int ok = 0;

    if (!hwj_jv_doc_parse_fast(&extra, o->claims_json, o->claims_json ? strlen(o->claims_json) : 0))
        goto out;
    hwj_jw_open(&w);
    hwj_jw_string(&w, "iss", o->iss);
    if (o->sub != NULL)
        hwj_jw_string(&w, "sub", o->sub);
    if (o->naud == 1)
        hwj_jw_string(&w, "aud", o->aud[0]);
    else
        hwj_jw_strings(&w, "aud", (const char *const *)o->aud, o->naud);
    hwj_jw_int(&w, "iat", iat);
    hwj_jw_int(&w, "nbf", iat + o->nbf_offset);
    hwj_jw_int(&w, "exp", iat + o->ttl);
    if (!o->no_jti) {
        if (!draw_jti(jti))
            goto out; /* the Jansson path draws again, and says so if it fails too */
        hwj_jw_string(&w, "jti", jti);
    }
    for (size_t i = 0; i < extra.n; i++) {
        const char *name = extra.names[i];
        int taken = is_registered(name); /* the registered claims are the options' */
        if (o->refuse_registered && taken)
            goto out;
        /* sub and jti are the options' only when they set them */
        if ((strcmp(name, "sub") == 0 && o->sub == NULL) ||
            (strcmp(name, "jti") == 0 && o->no_jti)) {
            if (extra.vals[i].type != HWJ_JV_STRING)
                goto out;
            taken = 0;
        }
        if (!taken)
            hwj_jw_value(&w, name, &extra.vals[i]);
    }
    ok = hwj_jw_close_dup(&w, out, NULL);
out:
    hwj_jv_doc_clear(&extra);
    return ok;
}

/* The claims set: the registered claims the options set, then claims_json's others. */
static hwj_err issue_claims(const hwj_jwt_issue_opts *o, int64_t iat, json_t **out, hwj_error *err)
{
    json_t *c = json_object(), *extra = NULL, *aud = NULL, *v, *jti = NULL;
    const char *name;
    hwj_err rc;

    if (c == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (iat < 0 || iat > JWT_MAX_DATE) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "the clock reads %lld, not a usable time",
                           (long long)iat);
        goto out;
    }
    if (o->claims_json != NULL &&
        (rc = hwj_json_parse_object(o->claims_json, strlen(o->claims_json), 0, "JWT claims_json",
                                    &extra, err)) != HWJ_OK)
        goto out;
    if (o->naud == 1) {
        aud = json_string(o->aud[0]);
    } else if ((aud = json_array()) != NULL) {
        for (size_t i = 0; i < o->naud; i++)
            if (json_array_append_new(aud, json_string(o->aud[i])) != 0) {
                json_decref(aud);
                aud = NULL;
                break;
            }
    }
    if ((rc = set_claim(c, "iss", json_string(o->iss), err)) != HWJ_OK ||
        (o->sub != NULL && (rc = set_claim(c, "sub", json_string(o->sub), err)) != HWJ_OK) ||
        (rc = set_claim(c, "aud", aud, err)) != HWJ_OK ||
        (rc = set_claim(c, "iat", json_integer(iat), err)) != HWJ_OK ||
        (rc = set_claim(c, "nbf", json_integer(iat + o->nbf_offset), err)) != HWJ_OK ||
        (rc = set_claim(c, "exp", json_integer(iat + o->ttl), err)) != HWJ_OK)
        goto out;
    if (!o->no_jti &&
        ((rc = new_jti(&jti, err)) != HWJ_OK || (rc = set_claim(c, "jti", jti, err)) != HWJ_OK))
        goto out;
    json_object_foreach(extra, name, v)
    {
        if (o->refuse_registered && is_registered(name)) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "claim \"%s\" is a registered claim the issuer sets itself "
                               "(iss, sub, aud, exp and nbf from its settings; iat and jti when "
                               "signing)",
                               name);
            goto out;
        }
        if (json_object_get(c, name) != NULL)
            continue; /* the options win */
        if ((strcmp(name, "sub") == 0 || strcmp(name, "jti") == 0) && !json_is_string(v)) {
            rc = hwj_error_set(err, HWJ_ERR_ARG, "claims_json: \"%s\" must be a string", name);
            goto out;
        }
        if (json_object_set(c, name, v) != 0) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    *out = c;
    c = NULL;
    rc = HWJ_OK;
out:
    json_decref(extra);
    json_decref(c);
    return rc;
}

/* The extra protected header: the caller's members with typ (opts->typ, else the caller's
 * own typ, else "JWT"). */
static hwj_err issue_header(const hwj_jwt_issue_opts *o, char **out, hwj_error *err)
{
    json_t *h = NULL;
    hwj_err rc;

    if (o->header_json == NULL && o->typ == NULL) { /* the usual header, without Jansson */
        if ((*out = strdup("{\"typ\":\"JWT\"}")) == NULL)
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        return HWJ_OK;
    }
    if (o->header_json != NULL)
        rc = hwj_json_parse_object(o->header_json, strlen(o->header_json), 0, "JWT header_json", &h,
                                   err);
    else
        rc = (h = json_object()) != NULL ? HWJ_OK
                                         : hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (rc != HWJ_OK)
        return rc;
    if (o->typ != NULL || json_object_get(h, "typ") == NULL)
        rc = set_claim(h, "typ", json_string(o->typ != NULL ? o->typ : "JWT"), err);
    else if (!json_is_string(json_object_get(h, "typ")))
        rc = hwj_error_set(err, HWJ_ERR_ARG, "header_json: \"typ\" must be a string");
    if (rc == HWJ_OK)
        rc = hwj_json_dump(h, out, err);
    json_decref(h);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwt_issue_claims(hwj_key *key, const hwj_jwt_issue_opts *opts_in, char **jwt,
                                        char **claims_json, hwj_error *err)
{
    hwj_jwt_issue_opts ob;
    const hwj_jwt_issue_opts *opts = &ob;
    hwj_jws_sign_opts so = HWJ_JWS_SIGN_OPTS_INIT;
    json_t *claims = NULL;
    char *payload = NULL, *header = NULL;
    int64_t now;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || opts_in == NULL || jwt == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_issue: missing argument");
    if ((rc = HWJ_OPTS_LOAD(ob, opts_in, hwj_jwt_issue_opts, err)) != HWJ_OK)
        return rc;
    if ((rc = issue_check(opts, err)) != HWJ_OK)
        goto out;
    now = now_of(opts->clock, opts->clock_arg);
    if (now < 0 || now > JWT_MAX_DATE || !claims_fast(opts, now, &payload)) {
        if ((rc = issue_claims(opts, now, &claims, err)) != HWJ_OK ||
            (rc = hwj_json_dump(claims, &payload, err)) != HWJ_OK)
            goto out;
    }
    if ((rc = issue_header(opts, &header, err)) != HWJ_OK)
        goto out;
    so.alg = opts->alg;
    so.kid = opts->kid;
    so.header_json = header;
    so.format = HWJ_JWS_COMPACT;
    if ((rc = hwj_jws_sign(key, (const uint8_t *)payload, strlen(payload), &so, jwt, err)) !=
        HWJ_OK)
        goto out;
    if (claims_json != NULL) {
        *claims_json = payload; /* exactly the bytes signed */
        payload = NULL;
    }
out:
    free(header);
    free(payload);
    json_decref(claims);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwt_issue(hwj_key *key, const hwj_jwt_issue_opts *opts, char **jwt,
                                 hwj_error *err)
{
    return hwj_jwt_issue_claims(key, opts, jwt, NULL, err);
}
