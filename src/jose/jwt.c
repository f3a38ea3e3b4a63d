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
#include "core/opts.h"
#include "core/rand_pool.h"
#include "jose/jws_internal.h"

#include <hwjose/jwt.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Durations, leeways and dates are bounded so that no sum of two of them can overflow. */
#define JWT_MAX_DURATION ((int64_t)36500 * 86400) /* 100 years */
#define JWT_MAX_DATE ((int64_t)1 << 53)           /* exact in a double, far beyond any use */
#define JWT_JTI_BYTES 16
#define JWT_SHOWN_MAX 64 /* characters of a token's value quoted in an error */

static int64_t now_of(hwj_clock_fn clock, void *arg)
{
    return clock != NULL ? clock(arg) : (int64_t)time(NULL);
}

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
    if (o->iss == NULL || *o->iss == '\0')
        return hwj_error_set(err, HWJ_ERR_ARG, "a JWT needs an issuer (iss)");
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

static hwj_err new_jti(json_t **out, hwj_error *err)
{
    uint8_t raw[JWT_JTI_BYTES];
    char text[32];
    if (!hwj_rand_public(raw, sizeof(raw))) /* public once issued: no fork check per token */
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "random jti");
    hwj_b64url_encode_to(raw, sizeof(raw), text);
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

/* The claims set: the registered claims the options set, then claims_json's others. */
static hwj_err issue_claims(const hwj_jwt_issue_opts *o, json_t **out, hwj_error *err)
{
    json_t *c = json_object(), *extra = NULL, *aud = NULL, *v, *jti = NULL;
    const char *name;
    int64_t iat = now_of(o->clock, o->clock_arg);
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
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || opts_in == NULL || jwt == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_issue: missing argument");
    if ((rc = HWJ_OPTS_LOAD(ob, opts_in, hwj_jwt_issue_opts, err)) != HWJ_OK)
        return rc;
    if ((rc = issue_check(opts, err)) != HWJ_OK ||
        (rc = issue_claims(opts, &claims, err)) != HWJ_OK ||
        (rc = hwj_json_dump(claims, &payload, err)) != HWJ_OK ||
        (rc = issue_header(opts, &header, err)) != HWJ_OK)
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

/* --- validating ------------------------------------------------------------------------ */

/* A token's string for an error message: bounded, printable ASCII only. */
static const char *shown(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 4 < len && i < JWT_SHOWN_MAX; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (s[i] != '\0') {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static const char *iso8601(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "%lld", (long long)t);
    return buf;
}

/* A NumericDate claim: absent (*present = 0), or a number within ±2^53 returned rounded
 * up (`ceil_`) and down (`floor_`). Another type is a claims error. */
static hwj_err numeric_date(const json_t *c, const char *name, int *present, int64_t *ceil_,
                            int64_t *floor_, hwj_error *err)
{
    const json_t *v = json_object_get(c, name);
    double d;
    *present = v != NULL;
    if (v == NULL)
        return HWJ_OK;
    if (!json_is_number(v))
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s must be a NumericDate (a number)", name);
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < -JWT_MAX_DATE || i > JWT_MAX_DATE)
            return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s is out of range", name);
        *ceil_ = *floor_ = (int64_t)i;
        return HWJ_OK;
    }
    d = json_real_value(v);
    if (!(d >= -(double)JWT_MAX_DATE && d <= (double)JWT_MAX_DATE))
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s is out of range", name);
    int64_t t = (int64_t)d; /* toward zero; exact within ±2^53 */
    *ceil_ = t + ((double)t < d);
    *floor_ = t - ((double)t > d);
    return HWJ_OK;
}

/* A claim that must be a string when present. */
static hwj_err string_claim(const json_t *c, const char *name, const char **out, hwj_error *err)
{
    const json_t *v = json_object_get(c, name);
    *out = NULL;
    if (v == NULL)
        return HWJ_OK;
    if (!json_is_string(v))
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s must be a string", name);
    *out = json_string_value(v);
    return HWJ_OK;
}

static hwj_err check_iss_sub(const json_t *c, const hwj_jwt_verify_opts *o, hwj_error *err)
{
    const char *iss, *sub, *jti;
    char b1[JWT_SHOWN_MAX + 8], b2[JWT_SHOWN_MAX + 8];
    hwj_err rc;

    if ((rc = string_claim(c, "iss", &iss, err)) != HWJ_OK ||
        (rc = string_claim(c, "sub", &sub, err)) != HWJ_OK ||
        (rc = string_claim(c, "jti", &jti, err)) != HWJ_OK)
        return rc;
    if (iss == NULL)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "iss is missing (expected '%s')",
                             shown(o->iss, b1, sizeof(b1)));
    if (strcmp(iss, o->iss) != 0)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "iss '%s' is not the expected '%s'",
                             shown(iss, b1, sizeof(b1)), shown(o->iss, b2, sizeof(b2)));
    if (o->sub != NULL && sub == NULL)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "sub is missing (expected '%s')",
                             shown(o->sub, b1, sizeof(b1)));
    if (o->sub != NULL && strcmp(sub, o->sub) != 0)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "sub '%s' is not the expected '%s'",
                             shown(sub, b1, sizeof(b1)), shown(o->sub, b2, sizeof(b2)));
    return HWJ_OK;
}

static hwj_err check_aud(const json_t *c, const char *want, hwj_error *err)
{
    const json_t *aud = json_object_get(c, "aud"), *v;
    char b[JWT_SHOWN_MAX + 8];
    int found = 0;
    size_t i;

    if (aud == NULL)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud is missing (expected '%s')",
                             shown(want, b, sizeof(b)));
    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), want) == 0;
    } else if (json_is_array(aud)) {
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v))
                return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                     "aud must be a string or an array of strings");
            found |= strcmp(json_string_value(v), want) == 0;
        }
    } else {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud must be a string or an array of strings");
    }
    if (!found)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud does not contain '%s'",
                             shown(want, b, sizeof(b)));
    return HWJ_OK;
}

static hwj_err check_times(const json_t *c, const hwj_jwt_verify_opts *o, int64_t now,
                           hwj_error *err)
{
    int has_exp, has_nbf, has_iat;
    int64_t exp_c, exp_f, nbf_c, nbf_f, iat_c, iat_f, lw = o->leeway;
    char t1[40], t2[40];
    hwj_err rc;

    if ((rc = numeric_date(c, "exp", &has_exp, &exp_c, &exp_f, err)) != HWJ_OK ||
        (rc = numeric_date(c, "nbf", &has_nbf, &nbf_c, &nbf_f, err)) != HWJ_OK ||
        (rc = numeric_date(c, "iat", &has_iat, &iat_c, &iat_f, err)) != HWJ_OK)
        return rc;
    if (!has_exp && !o->allow_no_exp)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "exp is missing: the token never expires");
    /* now < exp + leeway, as integers: exp rounded up (RFC 7519 §4.1.4) */
    if (has_exp && now >= exp_c + lw)
        return hwj_error_set(
            err, HWJ_ERR_CLAIMS, "token expired at %s, now %s (leeway %llds) (exp)",
            iso8601(exp_f, t1, sizeof(t1)), iso8601(now, t2, sizeof(t2)), (long long)lw);
    /* now >= nbf - leeway, nbf rounded up (RFC 7519 §4.1.5) */
    if (has_nbf && now < nbf_c - lw)
        return hwj_error_set(
            err, HWJ_ERR_CLAIMS, "token not valid before %s, now %s (leeway %llds) (nbf)",
            iso8601(nbf_c, t1, sizeof(t1)), iso8601(now, t2, sizeof(t2)), (long long)lw);
    if (has_iat && iat_c > now + lw)
        return hwj_error_set(
            err, HWJ_ERR_CLAIMS, "token issued in the future, at %s, now %s (leeway %llds) (iat)",
            iso8601(iat_c, t1, sizeof(t1)), iso8601(now, t2, sizeof(t2)), (long long)lw);
    if (o->max_age > 0 && !has_iat)
        return hwj_error_set(err, HWJ_ERR_CLAIMS,
                             "iat is missing: it is required to enforce the maximum age");
    /* now - iat <= max_age + leeway, iat rounded down */
    if (o->max_age > 0 && now - iat_f > o->max_age + lw)
        return hwj_error_set(err, HWJ_ERR_CLAIMS,
                             "token too old: issued at %s, now %s, max age %llds (leeway %llds) "
                             "(iat)",
                             iso8601(iat_f, t1, sizeof(t1)), iso8601(now, t2, sizeof(t2)),
                             (long long)o->max_age, (long long)lw);
    return HWJ_OK;
}

/* typ as media types compare (RFC 7515 §4.1.9): case-insensitive, "application/" optional. */
static const char *media_subtype(const char *t)
{
    return strncasecmp(t, "application/", 12) == 0 ? t + 12 : t;
}

static hwj_err check_header(const json_t *h, const char *want, hwj_error *err)
{
    const json_t *typ = json_object_get(h, "typ");
    char b1[JWT_SHOWN_MAX + 8], b2[JWT_SHOWN_MAX + 8];

    if (json_object_get(h, "b64") != NULL)
        /* RFC 7519 §3: the claims are base64url-encoded; RFC 7797 is not for JWTs. */
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "a JWT is never an unencoded (\"b64\") JWS; refusing it");
    if (typ != NULL && !json_is_string(typ))
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ must be a string");
    if (want == NULL) {
        if (typ != NULL && strcasecmp(media_subtype(json_string_value(typ)), "JWT") != 0)
            return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                 "typ '%s' is not \"JWT\"; give the expected typ to accept it",
                                 shown(json_string_value(typ), b1, sizeof(b1)));
    } else if (typ == NULL) {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ is missing (expected '%s')",
                             shown(want, b1, sizeof(b1)));
    } else if (strcasecmp(media_subtype(json_string_value(typ)), media_subtype(want)) != 0) {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ '%s' is not the expected '%s'",
                             shown(json_string_value(typ), b1, sizeof(b1)),
                             shown(want, b2, sizeof(b2)));
    }
    return HWJ_OK;
}

/* Would json_dumps(JSON_COMPACT) of the parsed claims give back exactly these bytes? Then
 * they are the output as they are. Conservative: no whitespace between tokens, no escapes
 * (Jansson rewrites some), no fractions or exponents (it reprints reals), no "-0". */
static int is_compact_dump(const char *s, size_t n)
{
    int in_str = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (in_str) {
            if (c == '\\' || c < 0x20)
                return 0;
            in_str = c != '"';
        } else if (c == '"') {
            in_str = 1;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '.' ||
                   (c == '-' && i + 1 < n && s[i + 1] == '0') ||
                   ((c == 'e' || c == 'E') && i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')) {
            return 0;
        }
    }
    return !in_str;
}

/* RFC 9068 §2.2: an access token's required claims (iss, aud and exp are checked already). */
static hwj_err check_at_jwt(const json_t *c, hwj_error *err)
{
    static const char *const strings[] = {"sub", "client_id", "jti"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (!json_is_string(json_object_get(c, strings[i])))
            return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                 "%s is missing or not a string (required in an RFC 9068 access "
                                 "token)",
                                 strings[i]);
    if (!json_is_number(json_object_get(c, "iat")) || json_object_get(c, "exp") == NULL)
        return hwj_error_set(err, HWJ_ERR_CLAIMS,
                             "iat and exp are required in an RFC 9068 access token");
    return HWJ_OK;
}

static hwj_err verify_check(const char *jwt, size_t len, const hwj_jwks *keys,
                            const hwj_jwt_verify_opts *o, char **claims_json, hwj_error *err)
{
    size_t i = 0;
    if (jwt == NULL || keys == NULL || o == NULL || claims_json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_verify: missing argument");
    if (o->iss == NULL || *o->iss == '\0')
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "the expected issuer (iss) is required (RFC 8725 §3.8)");
    if (o->aud == NULL || *o->aud == '\0')
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "the expected audience (aud) is required (RFC 8725 §3.9)");
    if (o->profile != NULL && strcmp(o->profile, "at+jwt") != 0)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "unknown JWT profile; the one profile is \"at+jwt\" (RFC 9068)");
    if (o->leeway < 0 || o->leeway > JWT_MAX_DURATION || o->max_age < 0 ||
        o->max_age > JWT_MAX_DURATION)
        return hwj_error_set(err, HWJ_ERR_ARG, "leeway and max_age must be 0 to 100 years");
    while (i < len && (jwt[i] == ' ' || jwt[i] == '\t' || jwt[i] == '\n' || jwt[i] == '\r'))
        i++;
    if (i < len && jwt[i] == '{')
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "a JWT uses the JWS compact serialization (RFC 7519 §7.2), not JSON");
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwt_verify(const char *jwt, size_t len, const hwj_jwks *keys,
                                  const hwj_jwt_verify_opts *opts_in, char **claims_json,
                                  hwj_error *err)
{
    static const hwj_verify_policy no_policy = HWJ_VERIFY_POLICY_INIT;
    hwj_jwt_verify_opts ob;
    const hwj_jwt_verify_opts *opts = &ob;
    hwj_jws_result *res = NULL;
    json_t *claims = NULL, *prot = NULL;
    hwj_err rc;
    int64_t now;

    hwj_error_reset(err);
    if (opts_in == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_verify: missing argument");
    if ((rc = HWJ_OPTS_LOAD(ob, opts_in, hwj_jwt_verify_opts, err)) != HWJ_OK ||
        (rc = verify_check(jwt, len, keys, opts, claims_json, err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_jws_verify_prot(jwt, len, keys, opts->policy ? opts->policy : &no_policy, &res,
                                  &prot, err)) != HWJ_OK)
        return rc;
    /* Only signed content is looked at from here on. */
    if ((rc = check_header(prot, opts->typ == NULL && opts->profile != NULL ? "at+jwt" : opts->typ,
                           err)) != HWJ_OK)
        goto out;
    rc = hwj_json_parse_object(res->payload != NULL ? (const char *)res->payload : "",
                               res->payload_len, 0, "JWT claims set", &claims, err);
    if (rc == HWJ_ERR_PARSE) {
        if (err != NULL)
            err->code = HWJ_ERR_CLAIMS; /* signed, but not a claims set: an invalid JWT */
        rc = HWJ_ERR_CLAIMS;
    }
    if (rc != HWJ_OK)
        goto out;
    now = now_of(opts->clock, opts->clock_arg);
    if (now < 0 || now > JWT_MAX_DATE) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "the clock reads %lld, not a usable time",
                           (long long)now);
        goto out;
    }
    if ((rc = check_iss_sub(claims, opts, err)) != HWJ_OK ||
        (rc = check_aud(claims, opts->aud, err)) != HWJ_OK ||
        (rc = check_times(claims, opts, now, err)) != HWJ_OK ||
        (opts->profile != NULL && (rc = check_at_jwt(claims, err)) != HWJ_OK))
        goto out;
    if (is_compact_dump((const char *)res->payload, res->payload_len)) {
        *claims_json = (char *)res->payload; /* NUL-terminated, and what a dump would give */
        res->payload = NULL;
    } else {
        rc = hwj_json_dump(claims, claims_json, err);
    }
out:
    json_decref(prot);
    json_decref(claims);
    hwj_jws_result_free(res);
    return rc;
}
