/* jwe_parse.c: the JWE serializations (RFC 7516 §7) and the header rules: the three
 * headers are disjoint, "zip" and "crit" are protected, "crit" is honoured. */
#include "jose/jwe_internal.h"

#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"

#include <stdlib.h>
#include <string.h>

/* Header parameters registered for JWE (RFC 7516 §4.1, RFC 7518 §4.6–4.8): "crit" may
 * not name them, since every implementation must understand them anyway. */
static const char *const registered[] = {"alg", "enc", "zip",      "jku", "jwk", "kid",  "x5u",
                                         "x5c", "x5t", "x5t#S256", "typ", "cty", "crit", "epk",
                                         "apu", "apv", "iv",       "tag", "p2s", "p2c",  NULL};

static int is_registered(const char *name)
{
    for (const char *const *r = registered; *r != NULL; r++)
        if (strcmp(*r, name) == 0)
            return 1;
    return 0;
}

void hwj_jwe_parsed_clear(jwe_parsed *p)
{
    free(p->protected_b64);
    json_decref(p->protected);
    json_decref(p->unprotected);
    free(p->aad_b64);
    free(p->aad);
    free(p->iv);
    free(p->ct);
    free(p->tag);
    for (size_t i = 0; i < p->nrcpt; i++) {
        json_decref(p->rcpt[i].header);
        free(p->rcpt[i].ek);
    }
    free(p->rcpt);
    memset(p, 0, sizeof(*p));
}

static hwj_err decode(const char *s, size_t len, const char *what, uint8_t **out, size_t *outlen,
                      hwj_error *err)
{
    if (len == 0) {
        *out = NULL;
        *outlen = 0;
        return HWJ_OK;
    }
    return hwj_b64url_decode(s, len, out, outlen, what, err);
}

static hwj_err set_protected(jwe_parsed *p, const char *b64, size_t len, hwj_error *err)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    hwj_err rc;

    if ((p->protected_b64 = strndup(b64, len)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (len == 0)
        return HWJ_OK;
    if ((rc = hwj_b64url_decode(b64, len, &raw, &rawlen, "JWE protected header", err)) != HWJ_OK)
        return rc;
    rc = hwj_json_parse_object((const char *)raw, rawlen, 0, "JWE protected header", &p->protected,
                               err);
    free(raw);
    return rc;
}

static hwj_err parse_compact(const char *s, size_t len, jwe_parsed *p, hwj_error *err)
{
    const char *part[5];
    size_t plen[5], n = 0;
    const char *start = s;
    hwj_err rc;

    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (n == 5)
                return hwj_error_set(err, HWJ_ERR_PARSE,
                                     "a compact JWE has exactly 5 parts; this has more");
            part[n] = start;
            plen[n++] = (size_t)(s + i - start);
            start = s + i + 1;
        }
    }
    if (n != 5)
        return hwj_error_set(err, HWJ_ERR_PARSE, "a compact JWE has exactly 5 parts; this has %zu",
                             n);
    if (plen[0] == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE, "compact JWE: the protected header is empty");
    if ((p->rcpt = calloc(1, sizeof(*p->rcpt))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    p->nrcpt = 1;
    if ((rc = set_protected(p, part[0], plen[0], err)) != HWJ_OK ||
        (rc = decode(part[1], plen[1], "JWE encrypted key", &p->rcpt[0].ek, &p->rcpt[0].eklen,
                     err)) != HWJ_OK ||
        (rc = decode(part[2], plen[2], "JWE iv", &p->iv, &p->ivlen, err)) != HWJ_OK ||
        (rc = decode(part[3], plen[3], "JWE ciphertext", &p->ct, &p->ctlen, err)) != HWJ_OK ||
        (rc = decode(part[4], plen[4], "JWE tag", &p->tag, &p->taglen, err)) != HWJ_OK)
        return rc;
    return HWJ_OK;
}

/* A member that must be a base64url string; required or not. */
static hwj_err json_b64(const json_t *obj, const char *name, int required, uint8_t **out,
                        size_t *outlen, hwj_error *err)
{
    const char *s = NULL;
    hwj_err rc = hwj_json_get_string(obj, name, "JWE", &s, err);
    if (rc != HWJ_OK)
        return rc;
    if (s == NULL)
        return required ? hwj_error_set(err, HWJ_ERR_PARSE, "JWE: \"%s\" is missing", name)
                        : HWJ_OK;
    return decode(s, json_string_length(json_object_get(obj, name)), name, out, outlen, err);
}

static hwj_err object_member(const json_t *obj, const char *name, json_t **out, hwj_error *err)
{
    json_t *v = json_object_get(obj, name);
    if (v != NULL && !json_is_object(v))
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE: \"%s\" must be a JSON object", name);
    *out = json_incref(v);
    return HWJ_OK;
}

static hwj_err parse_recipient(const json_t *obj, jwe_recipient *r, hwj_error *err)
{
    hwj_err rc = object_member(obj, "header", &r->header, err);
    if (rc == HWJ_OK)
        rc = json_b64(obj, "encrypted_key", 0, &r->ek, &r->eklen, err);
    return rc;
}

static hwj_err parse_json(const char *s, size_t len, jwe_parsed *p, hwj_error *err)
{
    json_t *root = NULL, *rcpts;
    const char *prot = NULL, *aad = NULL;
    hwj_err rc;

    p->json = 1;
    if ((rc = hwj_json_parse_object(s, len, 0, "JWE", &root, err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_json_get_string(root, "protected", "JWE", &prot, err)) != HWJ_OK ||
        (rc = set_protected(p, prot ? prot : "", prot ? strlen(prot) : 0, err)) != HWJ_OK ||
        (rc = object_member(root, "unprotected", &p->unprotected, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(root, "aad", "JWE", &aad, err)) != HWJ_OK ||
        (rc = json_b64(root, "aad", 0, &p->aad, &p->aad_len, err)) != HWJ_OK ||
        (rc = json_b64(root, "iv", 1, &p->iv, &p->ivlen, err)) != HWJ_OK ||
        (rc = json_b64(root, "ciphertext", 1, &p->ct, &p->ctlen, err)) != HWJ_OK ||
        (rc = json_b64(root, "tag", 1, &p->tag, &p->taglen, err)) != HWJ_OK)
        goto out;
    if (aad != NULL && (p->aad_b64 = strdup(aad)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    rcpts = json_object_get(root, "recipients");
    if (rcpts != NULL) {
        if (json_object_get(root, "header") || json_object_get(root, "encrypted_key")) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE,
                               "JWE: \"recipients\" cannot be combined "
                               "with flattened \"header\"/\"encrypted_key\"");
            goto out;
        }
        if (!json_is_array(rcpts) || json_array_size(rcpts) == 0 ||
            json_array_size(rcpts) > HWJ_JWE_MAX_RECIPIENTS) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE,
                               "JWE: \"recipients\" must be an array of 1 to %u objects",
                               HWJ_JWE_MAX_RECIPIENTS);
            goto out;
        }
        p->nrcpt = json_array_size(rcpts);
    } else {
        p->nrcpt = 1;
    }
    if ((p->rcpt = calloc(p->nrcpt, sizeof(*p->rcpt))) == NULL) {
        p->nrcpt = 0;
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < p->nrcpt && rc == HWJ_OK; i++) {
        const json_t *r = rcpts ? json_array_get(rcpts, i) : root;
        if (!json_is_object(r))
            rc = hwj_error_set(err, HWJ_ERR_PARSE, "JWE: recipient %zu is not an object", i);
        else
            rc = parse_recipient(r, &p->rcpt[i], err);
    }
out:
    json_decref(root);
    return rc;
}

hwj_err hwj_jwe_parse(const char *jwe, size_t len, int allow_json, jwe_parsed *p, hwj_error *err)
{
    size_t i = 0;
    hwj_err rc;
    memset(p, 0, sizeof(*p));
    while (i < len && (jwe[i] == ' ' || jwe[i] == '\n' || jwe[i] == '\r' || jwe[i] == '\t'))
        i++;
    if (i < len && jwe[i] == '{' && !allow_json)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the JWE is in a JSON serialization where the compact one is "
                             "expected; set allow_json in the decryption options to accept it");
    if (i < len && jwe[i] == '{')
        rc = parse_json(jwe + i, len - i, p, err);
    else {
        while (len > 0 && (jwe[len - 1] == '\n' || jwe[len - 1] == '\r'))
            len--; /* a trailing newline from a file or pipe */
        rc = parse_compact(jwe, len, p, err);
    }
    if (rc != HWJ_OK)
        hwj_jwe_parsed_clear(p);
    return rc;
}

/* Copy `src`'s members into `dst`; a member already there breaks disjointness. */
static hwj_err merge_into(json_t *dst, const json_t *src, const char *what, hwj_error *err)
{
    const char *dup = NULL;
    hwj_err rc = hwj_json_merge_disjoint(dst, src, &dup, err);
    if (rc == HWJ_ERR_PARSE)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWE: header parameter \"%s\" appears in more than one header "
                             "(%s); they must be disjoint (RFC 7516 §7.2.1)",
                             dup, what);
    return rc;
}

static hwj_err check_crit(const json_t *hdr, const json_t *crit, const char *const *known,
                          size_t nknown, hwj_error *err)
{
    size_t i, j;
    json_t *v;
    if (!json_is_array(crit) || json_array_size(crit) == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWE: \"crit\" must be a non-empty array");
    json_array_foreach(crit, i, v)
    {
        const char *name = json_string_value(v);
        int ok = 0;
        if (name == NULL || name[0] == '\0')
            return hwj_error_set(err, HWJ_ERR_PARSE, "JWE: \"crit\" must list names");
        if (is_registered(name))
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWE: \"crit\" may not list the registered \"%s\"", name);
        if (json_object_get(hdr, name) == NULL)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWE: \"crit\" lists \"%s\", which is not in the header", name);
        for (j = 0; j < nknown && !ok; j++)
            ok = known[j] != NULL && strcmp(known[j], name) == 0;
        if (!ok)
            return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                                 "JWE: critical header parameter \"%s\" is not understood", name);
    }
    return HWJ_OK;
}

hwj_err hwj_jwe_header_merge(const jwe_parsed *p, size_t i, const char *const *crit, size_t ncrit,
                             json_t **out, hwj_error *err)
{
    json_t *hdr = json_object(), *zip, *c;
    const json_t *rh = p->rcpt[i].header;
    hwj_err rc;

    if (hdr == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = merge_into(hdr, p->protected, "protected", err)) != HWJ_OK ||
        (rc = merge_into(hdr, p->unprotected, "unprotected", err)) != HWJ_OK ||
        (rc = merge_into(hdr, rh, "recipient", err)) != HWJ_OK)
        goto out;
    /* "zip" and "crit" must be integrity protected (RFC 7516 §4.1.3, RFC 7515 §4.1.11). */
    zip = json_object_get(hdr, "zip");
    c = json_object_get(hdr, "crit");
    if ((zip != NULL && json_object_get(p->protected, "zip") == NULL) ||
        (c != NULL && json_object_get(p->protected, "crit") == NULL)) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "JWE: \"zip\" and \"crit\" must be in the protected header");
        goto out;
    }
    if (zip != NULL && (!json_is_string(zip) || strcmp(json_string_value(zip), "DEF") != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWE: only \"zip\":\"DEF\" is supported");
        goto out;
    }
    if (c != NULL && (rc = check_crit(hdr, c, crit, ncrit, err)) != HWJ_OK)
        goto out;
    if (!json_is_string(json_object_get(hdr, "alg")) ||
        !json_is_string(json_object_get(hdr, "enc"))) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "JWE: \"alg\" and \"enc\" must be strings in "
                           "the header");
        goto out;
    }
    *out = hdr;
    hdr = NULL;
out:
    json_decref(hdr);
    return rc;
}

hwj_err hwj_jwe_aad_build(const char *protected_b64, const char *aad_b64, uint8_t **out,
                          size_t *outlen, hwj_error *err)
{
    size_t plen = strlen(protected_b64), alen = aad_b64 ? strlen(aad_b64) : 0;
    size_t n = plen + (aad_b64 ? 1 + alen : 0);
    uint8_t *buf = malloc(n + 1);
    if (buf == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    memcpy(buf, protected_b64, plen);
    if (aad_b64 != NULL) {
        buf[plen] = '.';
        memcpy(buf + plen + 1, aad_b64, alen);
    }
    *out = buf;
    *outlen = n;
    return HWJ_OK;
}
