/* jwt_verify.c: hwj_jwt_verify — the JWS verified first (jws_verify.c), then only signed
 * content looked at: typ, then the claims under RFC 8725 (iss and aud required and explicit,
 * exp required unless the caller opts out, bounded leeway, every registered claim that is
 * present of its registered type). Decisions: see jwt.c's header and docs/cli.md. */
#include "core/error.h"
#include "core/json.h"
#include "core/opts.h"
#include "jose/jws_internal.h"
#include "jose/jwt_internal.h"

#include <hwjose/jwt.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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
static hwj_err numeric_date(const hwj_jv_doc *c, const char *name, int *present, int64_t *ceil_,
                            int64_t *floor_, hwj_error *err)
{
    const hwj_jv v = hwj_jv_get(c, name);
    double d;
    *present = v.type != HWJ_JV_ABSENT;
    if (v.type == HWJ_JV_ABSENT)
        return HWJ_OK;
    if (v.type != HWJ_JV_INTEGER && v.type != HWJ_JV_REAL)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s must be a NumericDate (a number)", name);
    if (v.type == HWJ_JV_INTEGER) {
        int64_t i = v.u.integer;
        if (i < -JWT_MAX_DATE || i > JWT_MAX_DATE)
            return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s is out of range", name);
        *ceil_ = *floor_ = i;
        return HWJ_OK;
    }
    d = v.u.real;
    if (!(d >= -(double)JWT_MAX_DATE && d <= (double)JWT_MAX_DATE))
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s is out of range", name);
    int64_t t = (int64_t)d; /* toward zero; exact within ±2^53 */
    *ceil_ = t + ((double)t < d);
    *floor_ = t - ((double)t > d);
    return HWJ_OK;
}

/* A claim that must be a string when present. */
static hwj_err string_claim(const hwj_jv_doc *c, const char *name, const char **out, hwj_error *err)
{
    const hwj_jv v = hwj_jv_get(c, name);
    *out = NULL;
    if (v.type == HWJ_JV_ABSENT)
        return HWJ_OK;
    if (v.type != HWJ_JV_STRING)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "%s must be a string", name);
    *out = v.str;
    return HWJ_OK;
}

static hwj_err check_iss_sub(const hwj_jv_doc *c, const hwj_jwt_verify_opts *o, hwj_error *err)
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

static hwj_err check_aud(const hwj_jv_doc *c, const char *want, hwj_error *err)
{
    const hwj_jv aud = hwj_jv_get(c, "aud");
    char b[JWT_SHOWN_MAX + 8];
    int found = 0;

    if (aud.type == HWJ_JV_ABSENT)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud is missing (expected '%s')",
                             shown(want, b, sizeof(b)));
    if (aud.type == HWJ_JV_STRING) {
        found = strcmp(aud.str, want) == 0;
    } else if (aud.type == HWJ_JV_ARRAY) {
        for (size_t i = 0; i < aud.len; i++) {
            const hwj_jv v = hwj_jv_array_get(&aud, i);
            if (v.type != HWJ_JV_STRING)
                return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                     "aud must be a string or an array of strings");
            found |= strcmp(v.str, want) == 0;
        }
    } else {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud must be a string or an array of strings");
    }
    if (!found)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "aud does not contain '%s'",
                             shown(want, b, sizeof(b)));
    return HWJ_OK;
}

static hwj_err check_times(const hwj_jv_doc *c, const hwj_jwt_verify_opts *o, int64_t now,
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

static hwj_err check_header(const hwj_jv_doc *h, const char *want, hwj_error *err)
{
    const hwj_jv typ_v = hwj_jv_get(h, "typ");
    const char *typ = typ_v.str;
    char b1[JWT_SHOWN_MAX + 8], b2[JWT_SHOWN_MAX + 8];

    if (hwj_jv_get(h, "b64").type != HWJ_JV_ABSENT)
        /* RFC 7519 §3: the claims are base64url-encoded; RFC 7797 is not for JWTs. */
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "a JWT is never an unencoded (\"b64\") JWS; refusing it");
    if (typ_v.type != HWJ_JV_ABSENT && typ_v.type != HWJ_JV_STRING)
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ must be a string");
    if (want == NULL) {
        if (typ != NULL && strcasecmp(media_subtype(typ), "JWT") != 0)
            return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                 "typ '%s' is not \"JWT\"; give the expected typ to accept it",
                                 shown(typ, b1, sizeof(b1)));
    } else if (typ == NULL) {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ is missing (expected '%s')",
                             shown(want, b1, sizeof(b1)));
    } else if (strcasecmp(media_subtype(typ), media_subtype(want)) != 0) {
        return hwj_error_set(err, HWJ_ERR_CLAIMS, "typ '%s' is not the expected '%s'",
                             shown(typ, b1, sizeof(b1)), shown(want, b2, sizeof(b2)));
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
static hwj_err check_at_jwt(const hwj_jv_doc *c, hwj_error *err)
{
    static const char *const strings[] = {"sub", "client_id", "jti"};
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
        if (hwj_jv_get(c, strings[i]).type != HWJ_JV_STRING)
            return hwj_error_set(err, HWJ_ERR_CLAIMS,
                                 "%s is missing or not a string (required in an RFC 9068 access "
                                 "token)",
                                 strings[i]);
    hwj_jv_type iat = hwj_jv_get(c, "iat").type;
    if ((iat != HWJ_JV_INTEGER && iat != HWJ_JV_REAL) || hwj_jv_get(c, "exp").type == HWJ_JV_ABSENT)
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
    hwj_jv_doc prot, claims;
    json_t *reparsed = NULL;
    hwj_err rc;
    int64_t now;

    hwj_error_reset(err);
    if (opts_in == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwt_verify: missing argument");
    if ((rc = HWJ_OPTS_LOAD(ob, opts_in, hwj_jwt_verify_opts, err)) != HWJ_OK ||
        (rc = verify_check(jwt, len, keys, opts, claims_json, err)) != HWJ_OK)
        return rc;
    hwj_jv_doc_init(&prot);
    hwj_jv_doc_init(&claims); /* empty until parsed: clearing it is safe on every path */
    if ((rc = hwj_jws_verify_prot(jwt, len, keys, opts->policy ? opts->policy : &no_policy, &res,
                                  &prot, err)) != HWJ_OK)
        goto out;
    /* Only signed content is looked at from here on. */
    if ((rc = check_header(&prot, opts->typ == NULL && opts->profile != NULL ? "at+jwt" : opts->typ,
                           err)) != HWJ_OK)
        goto out;
    rc = hwj_jv_doc_parse(&claims, res->payload != NULL ? (const char *)res->payload : "",
                          res->payload_len, "JWT claims set", err);
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
    if ((rc = check_iss_sub(&claims, opts, err)) != HWJ_OK ||
        (rc = check_aud(&claims, opts->aud, err)) != HWJ_OK ||
        (rc = check_times(&claims, opts, now, err)) != HWJ_OK ||
        (opts->profile != NULL && (rc = check_at_jwt(&claims, err)) != HWJ_OK))
        goto out;
    if (hwj_jv_doc_is_compact(&claims) ||
        is_compact_dump((const char *)res->payload, res->payload_len)) {
        *claims_json = (char *)res->payload; /* NUL-terminated, and what a dump would give */
        res->payload = NULL;
    } else if (claims.json != NULL) {
        rc = hwj_json_dump(claims.json, claims_json, err);
    } else if ((rc = hwj_json_parse_object((const char *)res->payload, res->payload_len, 0,
                                           "JWT claims set", &reparsed, err)) == HWJ_OK) {
        rc = hwj_json_dump(reparsed, claims_json, err); /* read fast, but not compact */
    }
out:
    json_decref(reparsed);
    hwj_jv_doc_clear(&claims);
    hwj_jv_doc_clear(&prot);
    hwj_jws_result_free(res);
    return rc;
}
