/* jws_parse.c: the JWS compact and JSON serializations (RFC 7515 §7) and the checks on
 * their headers that do not depend on keys: strict base64url and JSON, disjoint headers,
 * "crit" (§4.1.11) and "b64" (RFC 7797 §3, §6). */
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "jose/jws_internal.h"

#include <stdlib.h>
#include <string.h>

int hwj_jws_is_registered_param(const char *name)
{
    static const char *const registered[] = {"alg", "jku",      "jwk", "kid", "x5u", "x5c",
                                             "x5t", "x5t#S256", "typ", "cty", "crit"};
    for (size_t i = 0; i < sizeof(registered) / sizeof(registered[0]); i++)
        if (strcmp(registered[i], name) == 0)
            return 1;
    return 0;
}

static int policy_understands(const hwj_verify_policy *policy, const char *name)
{
    if (strcmp(name, "b64") == 0)
        return 1;
    for (size_t i = 0; i < policy->ncrit; i++)
        if (policy->crit[i] != NULL && strcmp(policy->crit[i], name) == 0)
            return 1;
    return 0;
}

/* RFC 7515 §4.1.11: a non-empty array of distinct names of extension parameters present in
 * the (here: protected) header, each one understood. Unknown ones make the JWS invalid. */
static hwj_err check_crit(const hwj_jv_doc *prot, const hwj_verify_policy *policy, hwj_error *err)
{
    const hwj_jv crit = hwj_jv_get(prot, "crit");

    if (crit.type == HWJ_JV_ABSENT)
        return HWJ_OK;
    if (crit.type != HWJ_JV_ARRAY || crit.len == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS header: \"crit\" must be a non-empty array of header "
                             "parameter names (RFC 7515 §4.1.11)");
    for (size_t i = 0; i < crit.len; i++) {
        const hwj_jv name = hwj_jv_array_get(&crit, i);
        if (name.type != HWJ_JV_STRING)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header: \"crit\" may hold only strings (RFC 7515 §4.1.11)");
        for (size_t j = 0; j < i; j++)
            if (strcmp(name.str, hwj_jv_array_get(&crit, j).str) == 0)
                return hwj_error_set(err, HWJ_ERR_PARSE,
                                     "JWS header: \"crit\" names \"%.64s\" twice", name.str);
        if (hwj_jws_is_registered_param(name.str))
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header: \"crit\" may not name the registered parameter "
                                 "\"%s\" (RFC 7515 §4.1.11)",
                                 name.str);
        if (hwj_jv_get(prot, name.str).type == HWJ_JV_ABSENT)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header: \"crit\" names \"%.64s\", which is not in the "
                                 "protected header",
                                 name.str);
    }
    /* Well-formed: now is every name understood? */
    for (size_t i = 0; i < crit.len; i++) {
        const char *name = hwj_jv_array_get(&crit, i).str;
        if (!policy_understands(policy, name))
            return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                                 "JWS header: critical parameter \"%.64s\" is not understood; "
                                 "list it in the policy's crit if the application checks it",
                                 name);
    }
    return HWJ_OK;
}

/* Decode and check the headers of one signature; set s->alg, s->kid and *b64. */
static hwj_err parse_headers(struct hwj_jws_sig *s, hwj_jv_doc *storage,
                             const hwj_verify_policy *policy, int *b64, hwj_error *err)
{
    const char *key;
    json_t *v;
    const json_t *alg_u = NULL, *kid_u = NULL;
    hwj_jv alg_v, kid_v, b64_v;
    uint8_t *text = NULL;
    size_t text_len = 0;
    hwj_err rc;

    if (s->prot_b64_len > 0) {
        if ((rc = hwj_b64url_decode(s->prot_b64, s->prot_b64_len, &text, &text_len,
                                    "JWS protected header", err)) != HWJ_OK)
            return rc;
        s->prot_json = (char *)text;
        if ((s->prot = storage != NULL ? storage : malloc(sizeof(*s->prot))) == NULL)
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        if ((rc = hwj_jv_doc_parse(s->prot, s->prot_json, text_len, "JWS protected header", err)) !=
            HWJ_OK)
            return rc;
    }
    /* RFC 7515 §7.2.1: the header parameter names in the two headers MUST be disjoint. */
    json_object_foreach((json_t *)s->hdr, key, v)
    {
        if (hwj_jv_get(s->prot, key).type != HWJ_JV_ABSENT)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header parameter \"%.64s\" is both protected and "
                                 "unprotected (RFC 7515 §7.2.1)",
                                 key);
        if (strcmp(key, "crit") == 0 || strcmp(key, "b64") == 0)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header parameter \"%s\" must be in the protected header "
                                 "(RFC 7515 §4.1.11, RFC 7797 §3)",
                                 key);
    }
    if ((rc = check_crit(s->prot, policy, err)) != HWJ_OK)
        return rc;
    *b64 = 1;
    if ((b64_v = hwj_jv_get(s->prot, "b64")).type != HWJ_JV_ABSENT) {
        if (b64_v.type != HWJ_JV_TRUE && b64_v.type != HWJ_JV_FALSE)
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWS header: \"b64\" must be true or false (RFC 7797 §3)");
        *b64 = b64_v.type == HWJ_JV_TRUE;
    }
    if ((alg_v = hwj_jv_get(s->prot, "alg")).type == HWJ_JV_ABSENT &&
        (alg_u = json_object_get(s->hdr, "alg")) != NULL)
        s->alg_unprotected = 1;
    if (alg_v.type == HWJ_JV_ABSENT && alg_u == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWS header has no \"alg\" (RFC 7515 §4.1.1)");
    if ((s->alg = alg_u != NULL ? json_string_value(alg_u) : alg_v.str) == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWS header: \"alg\" must be a string");
    if ((kid_v = hwj_jv_get(s->prot, "kid")).type == HWJ_JV_ABSENT)
        kid_u = json_object_get(s->hdr, "kid");
    if (kid_u != NULL && (s->kid = json_string_value(kid_u)) == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWS header: \"kid\" must be a string");
    if (kid_v.type != HWJ_JV_ABSENT && (s->kid = kid_v.str) == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWS header: \"kid\" must be a string");
    return HWJ_OK;
}

/* header.payload.signature: exactly two dots (RFC 7515 §7.1; RFC 7797 §5.2 forbids '.' in
 * an unencoded compact payload, so the count holds with "b64":false too). */
static hwj_err split_compact(const char *in, size_t len, struct hwj_jws_parsed *p, hwj_error *err)
{
    const char *d1 = memchr(in, '.', len), *d2 = NULL;
    size_t dots = 0;

    for (const char *d = d1; d != NULL; d = memchr(d + 1, '.', (size_t)(in + len - d - 1)))
        dots++;
    if (dots != 2)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "a compact JWS has three parts separated by '.'; this input has "
                             "%zu%s",
                             dots + 1, dots == 4 ? " (is it a JWE?)" : "");
    d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - in));
    p->sigs[0].prot_b64 = in;
    p->sigs[0].prot_b64_len = (size_t)(d1 - in);
    p->payload = d1 + 1;
    p->payload_len = (size_t)(d2 - d1 - 1);
    p->has_payload = p->payload_len > 0; /* empty: detached content (RFC 7515 App. F) */
    p->sigs[0].sig_b64 = d2 + 1;
    p->sigs[0].sig_b64_len = len - (size_t)(d2 + 1 - in);
    p->nsigs = 1;
    return HWJ_OK;
}

/* One signature object of the JSON serialization: "protected", "header", "signature". */
static hwj_err take_sig_members(const json_t *o, struct hwj_jws_sig *s, size_t i, hwj_error *err)
{
    const json_t *prot = json_object_get(o, "protected");
    const json_t *hdr = json_object_get(o, "header");
    const json_t *sig = json_object_get(o, "signature");

    if (prot != NULL && !json_is_string(prot))
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS signature #%zu: \"protected\" must be a "
                             "string",
                             i);
    if (hdr != NULL && !json_is_object(hdr))
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS signature #%zu: \"header\" must be an "
                             "object",
                             i);
    if (!json_is_string(sig))
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS signature #%zu: \"signature\" is missing or not a string", i);
    if (prot == NULL && hdr == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS signature #%zu has neither \"protected\" nor \"header\"", i);
    s->prot_b64 = prot ? json_string_value(prot) : "";
    s->prot_b64_len = prot ? json_string_length(prot) : 0;
    if (prot != NULL && s->prot_b64_len == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS signature #%zu: \"protected\" is empty; leave it out instead", i);
    s->hdr = hdr;
    s->sig_b64 = json_string_value(sig);
    s->sig_b64_len = json_string_length(sig);
    return HWJ_OK;
}

/* General ({"signatures":[...]}) or flattened JSON serialization (RFC 7515 §7.2). */
static hwj_err split_json(const char *in, size_t len, struct hwj_jws_parsed *p, hwj_error *err)
{
    const json_t *payload, *sigs;
    hwj_err rc;

    if ((rc = hwj_json_parse_object(in, len, 0, "JWS JSON serialization", &p->doc, err)) != HWJ_OK)
        return rc;
    if ((payload = json_object_get(p->doc, "payload")) != NULL) {
        if (!json_is_string(payload))
            return hwj_error_set(err, HWJ_ERR_PARSE, "JWS JSON: \"payload\" must be a string");
        p->payload = json_string_value(payload);
        p->payload_len = json_string_length(payload);
        p->has_payload = 1;
    }
    sigs = json_object_get(p->doc, "signatures");
    if (sigs == NULL) {
        p->nsigs = 1;
        return take_sig_members(p->doc, &p->sigs[0], 0, err);
    }
    if (json_object_get(p->doc, "signature") != NULL ||
        json_object_get(p->doc, "protected") != NULL || json_object_get(p->doc, "header") != NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS JSON mixes the general (\"signatures\") and flattened "
                             "(\"signature\") syntax (RFC 7515 §7.2.2)");
    if (!json_is_array(sigs) || json_array_size(sigs) == 0)
        return hwj_error_set(err, HWJ_ERR_PARSE,
                             "JWS JSON: \"signatures\" must be a non-empty array");
    if (json_array_size(sigs) > HWJ_JWS_MAX_SIGNATURES)
        return hwj_error_set(err, HWJ_ERR_LIMIT,
                             "JWS JSON has %zu signatures; at most %d are "
                             "accepted",
                             json_array_size(sigs), HWJ_JWS_MAX_SIGNATURES);
    if ((p->sigs = calloc(json_array_size(sigs), sizeof(*p->sigs))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    p->nsigs = json_array_size(sigs);
    for (size_t i = 0; i < p->nsigs; i++) {
        const json_t *o = json_array_get(sigs, i);
        if (!json_is_object(o))
            return hwj_error_set(err, HWJ_ERR_PARSE, "JWS signature #%zu is not an object", i);
        if ((rc = take_sig_members(o, &p->sigs[i], i, err)) != HWJ_OK)
            return rc;
    }
    return HWJ_OK;
}

static int is_json(const char *in, size_t len)
{
    size_t i = 0;
    while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
        i++;
    return i < len && in[i] == '{';
}

hwj_err hwj_jws_parse(const char *in, size_t len, const hwj_verify_policy *policy,
                      hwj_jv_doc *prot0, struct hwj_jws_parsed **out, hwj_error *err)
{
    struct hwj_jws_parsed *p = calloc(1, sizeof(*p));
    hwj_err rc;

    if (p == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    p->sigs = &p->one;
    p->prot0 = prot0;
    if (is_json(in, len) && !policy->allow_json)
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "the JWS is in a JSON serialization where the compact one is "
                           "expected; set allow_json in the policy to accept it");
    else
        rc = is_json(in, len) ? split_json(in, len, p, err) : split_compact(in, len, p, err);
    if (rc != HWJ_OK)
        goto out;
    for (size_t i = 0; i < p->nsigs; i++) {
        int b64 = 1;
        if ((rc = parse_headers(&p->sigs[i], i == 0 ? prot0 : NULL, policy, &b64, err)) != HWJ_OK) {
            if (p->nsigs > 1)
                hwj_error_prefix(err, "JWS signature #%zu", i);
            goto out;
        }
        /* RFC 7797 §3: all signatures must agree, the payload has one encoding. */
        if (i > 0 && b64 != p->b64) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE,
                               "JWS signatures disagree on \"b64\" (RFC 7797 §3)");
            goto out;
        }
        p->b64 = b64;
    }
out:
    if (rc != HWJ_OK) {
        hwj_jws_parsed_free(p);
        return rc;
    }
    *out = p;
    return HWJ_OK;
}

void hwj_jws_parsed_free(struct hwj_jws_parsed *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nsigs; i++) {
        hwj_jv_doc_clear(p->sigs[i].prot);
        if (p->sigs[i].prot != p->prot0)
            free(p->sigs[i].prot);
        free(p->sigs[i].prot_json);
    }
    if (p->sigs != &p->one)
        free(p->sigs);
    json_decref(p->doc);
    free(p);
}
