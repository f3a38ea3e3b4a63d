/* jws_sign.c: hwj_jws_sign and hwj_jws_sign_multi (RFC 7515 §5.1, §7; RFC 7797). The
 * signature comes from hwj_key_sign: this layer never sees a private key. The compact
 * path allocates the output once and signs the first two parts of it in place. */
#include "core/alg.h"
#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/jview.h"
#include "core/jwrite.h"
#include "core/opts.h"
#include "jose/jws_internal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

/* Characters of the longest signature, base64url-encoded, plus a NUL. */
#define SIG_B64_ROOM (((HWJ_SIG_MAX + 2) / 3) * 4 + 1)

static const hwj_jws_sign_opts no_opts;

/* The alg and kid one signature uses. */
static hwj_err resolve(hwj_key *key, const hwj_jws_sign_opts *o, hwj_alg *alg, const char **kid,
                       hwj_error *err)
{
    *alg = o->alg != HWJ_ALG_UNKNOWN ? o->alg : hwj_key_default_alg(key);
    if (*alg == HWJ_ALG_UNKNOWN)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "key '%s' is bound to no alg and has no natural one; choose the alg "
                             "in the signing options",
                             hwj_key_get0_uri(key) ? hwj_key_get0_uri(key) : "?");
    if (hwj_alg_get_kind(*alg) != HWJ_ALG_KIND_JWS)
        return hwj_error_set(err, HWJ_ERR_ARG, "%s is not a JWS signature algorithm",
                             hwj_alg_name(*alg) ? hwj_alg_name(*alg) : "the alg given");
    *kid = o->kid != NULL ? o->kid : hwj_key_get0_kid(key);
    if (*kid != NULL && **kid == '\0')
        *kid = NULL;
    return HWJ_OK;
}

/* Copy the caller's extra protected members; alg and kid only when they agree, crit and
 * b64 never (b64_false is the way to get them, consistently). */
static hwj_err add_extra(json_t *hdr, const char *header_json, const char *alg, const char *kid,
                         hwj_error *err)
{
    json_t *extra = NULL, *v;
    const char *name;
    hwj_err rc;

    if ((rc = hwj_json_parse_object(header_json, strlen(header_json), 0, "JWS header_json", &extra,
                                    err)) != HWJ_OK)
        return rc;
    json_object_foreach(extra, name, v)
    {
        const char *s = json_string_value(v);
        if (strcmp(name, "alg") == 0 && (s == NULL || strcmp(s, alg) != 0)) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "header_json sets \"alg\" to something other than %s; choose the "
                               "alg with the alg option, not in the header",
                               alg);
        } else if (strcmp(name, "kid") == 0 && (s == NULL || kid == NULL || strcmp(s, kid) != 0)) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "header_json sets \"kid\" to something other than the key's kid; "
                               "choose the kid with the kid option, not in the header");
        } else if (strcmp(name, "crit") == 0 || strcmp(name, "b64") == 0) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "header_json may not set \"%s\"; the library sets \"crit\" only for "
                               "RFC 7797 \"b64\":false (the b64_false option)",
                               name);
        } else if (strcmp(name, "alg") != 0 && strcmp(name, "kid") != 0 &&
                   json_object_set(hdr, name, v) != 0) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        }
        if (rc != HWJ_OK)
            break;
    }
    json_decref(extra);
    return rc;
}

/* build_protected without Jansson, for the usual header: no unprotected header, and extra
 * members of the common shape (core/jwrite.h) that break none of add_extra's rules. 0: not
 * handled (the Jansson path then builds the same bytes, or words the refusal). */
static int protected_fast(const hwj_jws_sign_opts *o, const char *alg, const char *kid,
                          const json_t *unprot, char **text, size_t *textlen)
{
    hwj_jv_doc extra;
    hwj_jw w;
    int ok = 0;

    hwj_jv_doc_init(&extra);
    if (unprot != NULL ||
        !hwj_jv_doc_parse_fast(&extra, o->header_json, o->header_json ? strlen(o->header_json) : 0))
        goto out;
    hwj_jw_open(&w);
    hwj_jw_string(&w, "alg", alg);
    if (kid != NULL)
        hwj_jw_string(&w, "kid", kid);
    for (size_t i = 0; i < extra.n; i++) {
        const char *name = extra.names[i];
        const hwj_jv *v = &extra.vals[i];
        int same = v->type == HWJ_JV_STRING &&
                   (strcmp(name, "alg") == 0 ? strcmp(v->str, alg) == 0
                                             : kid != NULL && strcmp(v->str, kid) == 0);
        if (strcmp(name, "alg") == 0 || strcmp(name, "kid") == 0) {
            if (!same)
                goto out; /* refused: the Jansson path says why */
        } else if (strcmp(name, "crit") == 0 || strcmp(name, "b64") == 0) {
            goto out;
        } else {
            hwj_jw_value(&w, name, v);
        }
    }
    if (o->b64_false) {
        hwj_jw_raw_member(&w, "\"b64\":false");
        hwj_jw_raw_member(&w, "\"crit\":[\"b64\"]");
    }
    ok = hwj_jw_close_dup(&w, text, textlen);
out:
    hwj_jv_doc_clear(&extra);
    return ok;
}

/* The protected header's JSON text: alg, kid, the extra members, then b64 and crit. */
static hwj_err build_protected(const hwj_jws_sign_opts *o, hwj_alg alg, const char *kid,
                               const json_t *unprot, char **text, size_t *textlen, hwj_error *err)
{
    json_t *hdr = NULL, *v;
    const char *name;
    hwj_err rc = HWJ_OK;

    if (protected_fast(o, hwj_alg_name(alg), kid, unprot, text, textlen))
        return HWJ_OK;
    if ((hdr = json_object()) == NULL ||
        json_object_set_new(hdr, "alg", json_string(hwj_alg_name(alg))) != 0 ||
        (kid != NULL && json_object_set_new(hdr, "kid", json_string(kid)) != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (o->header_json != NULL &&
        (rc = add_extra(hdr, o->header_json, hwj_alg_name(alg), kid, err)) != HWJ_OK)
        goto out;
    if (o->b64_false && (json_object_set_new(hdr, "b64", json_false()) != 0 ||
                         json_object_set_new(hdr, "crit", json_pack("[s]", "b64")) != 0)) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    json_object_foreach((json_t *)unprot, name, v)
    {
        if (json_object_get(hdr, name) != NULL || strcmp(name, "crit") == 0 ||
            strcmp(name, "b64") == 0) {
            rc = hwj_error_set(err, HWJ_ERR_ARG, "unprotected header member \"%.64s\" %s", name,
                               json_object_get(hdr, name) != NULL
                                   ? "is also in the protected header (RFC 7515 §7.2.1)"
                                   : "must be protected");
            goto out;
        }
    }
    if ((rc = hwj_json_dump(hdr, text, err)) == HWJ_OK)
        *textlen = strlen(*text);
out:
    json_decref(hdr);
    return rc;
}

/* Sign `in` with the key; write the base64url signature (room: SIG_B64_ROOM) to `dst`. */
static hwj_err sign_raw(hwj_key *key, hwj_alg alg, const char *in, size_t inlen, char *dst,
                        size_t *dstlen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    EVP_PKEY *pkey = hwj_key_get0_pkey(key);
    uint8_t sig[HWJ_SIG_MAX];
    size_t siglen = sizeof(sig), want;
    hwj_err rc;

    if ((rc = hwj_key_sign(key, alg, (const uint8_t *)in, inlen, sig, &siglen, err)) != HWJ_OK)
        return rc;
    /* A backend's answer is held to the alg's size: r||s for ECDSA, the modulus for RSA. */
    want = info->kty == HWJ_KTY_OCT   ? info->hash_len
           : info->kty == HWJ_KTY_RSA ? (pkey ? (size_t)EVP_PKEY_get_size(pkey) : siglen)
                                      : info->sig_len;
    if (siglen != want)
        return hwj_error_set(
            err, HWJ_ERR_INTERNAL, "key '%s' returned a %zu-byte %s signature; %zu bytes expected",
            hwj_key_get0_uri(key) ? hwj_key_get0_uri(key) : "?", siglen, info->name, want);
    *dstlen = hwj_b64url_encode_to(sig, siglen, dst);
    return HWJ_OK;
}

/* RFC 7797 §5.2: an unencoded payload in the compact serialization may not hold '.', and a
 * NUL would cut the C string short. */
static hwj_err check_unencoded(const uint8_t *payload, size_t len, hwj_error *err)
{
    if (len > 0 && memchr(payload, '.', len) != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "with b64 false, the compact serialization cannot carry a payload "
                             "containing '.' (RFC 7797 §5.2); use the JSON serialization or a "
                             "detached payload");
    if (len > 0 && memchr(payload, '\0', len) != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "with b64 false, the payload may not contain NUL bytes; use a "
                             "detached payload");
    return HWJ_OK;
}

static hwj_err sign_compact(hwj_key *key, const hwj_jws_sign_opts *o, const uint8_t *payload,
                            size_t len, char **out, hwj_error *err)
{
    hwj_alg alg;
    const char *kid;
    char *hdr = NULL, *buf = NULL;
    size_t hdr_len = 0, hlen, plen, pos, slen = 0;
    hwj_err rc;

    if (o->unprotected_json != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "an unprotected header needs a JSON serialization (general or "
                             "flattened)");
    if ((rc = resolve(key, o, &alg, &kid, err)) != HWJ_OK ||
        (o->b64_false && !o->detached && (rc = check_unencoded(payload, len, err)) != HWJ_OK) ||
        (rc = build_protected(o, alg, kid, NULL, &hdr, &hdr_len, err)) != HWJ_OK)
        goto out;
    hlen = hwj_b64url_encoded_len(hdr_len);
    plen = o->b64_false ? len : hwj_b64url_encoded_len(len);
    if ((buf = malloc(hlen + 1 + plen + 1 + SIG_B64_ROOM)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    hwj_b64url_encode_to((const uint8_t *)hdr, hdr_len, buf);
    buf[hlen] = '.';
    if (o->b64_false && len > 0)
        memcpy(buf + hlen + 1, payload, len);
    else if (!o->b64_false)
        hwj_b64url_encode_to(payload, len, buf + hlen + 1);
    /* Detached (RFC 7515 App. F): the payload is signed, then left out. */
    pos = o->detached ? hlen + 1 : hlen + 1 + plen;
    if ((rc = sign_raw(key, alg, buf, hlen + 1 + plen, buf + pos + 1, &slen, err)) != HWJ_OK)
        goto out;
    buf[pos] = '.';
    buf[pos + 1 + slen] = '\0';
    *out = buf;
    buf = NULL;
out:
    free(buf);
    free(hdr);
    return rc;
}

/* One signature object ("protected", "header", "signature") into `dst`. */
static hwj_err sign_one(hwj_key *key, const hwj_jws_sign_opts *o, const char *part, size_t part_len,
                        json_t *dst, hwj_error *err)
{
    json_t *unprot = NULL;
    hwj_alg alg;
    const char *kid;
    char *hdr = NULL, *in = NULL, sig[SIG_B64_ROOM];
    size_t hdr_len = 0, hlen, slen = 0;
    hwj_err rc;

    if ((rc = resolve(key, o, &alg, &kid, err)) != HWJ_OK)
        return rc;
    if (o->unprotected_json != NULL &&
        (rc = hwj_json_parse_object(o->unprotected_json, strlen(o->unprotected_json), 0,
                                    "JWS unprotected_json", &unprot, err)) != HWJ_OK)
        return rc;
    if ((rc = build_protected(o, alg, kid, unprot, &hdr, &hdr_len, err)) != HWJ_OK)
        goto out;
    hlen = hwj_b64url_encoded_len(hdr_len);
    if ((in = malloc(hlen + 1 + part_len + 1)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    hwj_b64url_encode_to((const uint8_t *)hdr, hdr_len, in);
    in[hlen] = '.';
    if (part_len > 0)
        memcpy(in + hlen + 1, part, part_len);
    if ((rc = sign_raw(key, alg, in, hlen + 1 + part_len, sig, &slen, err)) != HWJ_OK)
        goto out;
    if (json_object_set_new(dst, "protected", json_stringn(in, hlen)) != 0 ||
        (unprot != NULL && json_object_size(unprot) > 0 &&
         json_object_set(dst, "header", unprot) != 0) ||
        json_object_set_new(dst, "signature", json_stringn(sig, slen)) != 0)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
out:
    free(in);
    free(hdr);
    json_decref(unprot);
    return rc;
}

/* General ({"payload","signatures":[...]}) or flattened JSON serialization. */
static hwj_err sign_json(hwj_key *const *keys, const hwj_jws_sign_opts *opts, size_t n, int flat,
                         const uint8_t *payload, size_t len, char **out, hwj_error *err)
{
    const hwj_jws_sign_opts *o0 = opts ? &opts[0] : &no_opts;
    json_t *doc = json_object(), *sigs = NULL, *pj;
    char *enc = NULL;
    const char *part = (const char *)payload;
    size_t part_len = len;
    hwj_err rc = HWJ_OK;

    if (doc == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    for (size_t i = 1; opts != NULL && i < n; i++) {
        if (!opts[i].detached != !o0->detached || !opts[i].b64_false != !o0->b64_false) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "all signatures of one JWS must agree on detached and b64_false "
                               "(RFC 7797 §3)");
            goto out;
        }
    }
    if (!o0->b64_false) {
        if ((rc = hwj_b64url_encode(payload, len, &enc, err)) != HWJ_OK)
            goto out;
        part = enc;
        part_len = strlen(enc);
    } else if (!o0->detached && len > 0 && memchr(payload, '\0', len) != NULL) {
        rc = hwj_error_set(err, HWJ_ERR_ARG,
                           "with b64 false, the payload may not contain NUL bytes; use a "
                           "detached payload");
        goto out;
    }
    if (!o0->detached) {
        if ((pj = json_stringn(part, part_len)) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "with b64 false, the JSON serialization needs a UTF-8 payload; "
                               "use a detached payload");
            goto out;
        }
        if (json_object_set_new(doc, "payload", pj) != 0) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    if (!flat && ((sigs = json_array()) == NULL || json_object_set_new(doc, "signatures", sigs))) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *one = flat ? doc : json_object();
        if (one == NULL || (!flat && json_array_append_new(sigs, one) != 0)) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = sign_one(keys[i], opts ? &opts[i] : &no_opts, part, part_len, one, err)) !=
            HWJ_OK) {
            if (n > 1)
                hwj_error_prefix(err, "signature #%zu", i);
            goto out;
        }
    }
    rc = hwj_json_dump(doc, out, err);
out:
    free(enc);
    json_decref(doc);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jws_sign(hwj_key *key, const uint8_t *payload, size_t len,
                                const hwj_jws_sign_opts *opts, char **out, hwj_error *err)
{
    hwj_jws_sign_opts ob;
    const hwj_jws_sign_opts *o = &ob;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || out == NULL || (payload == NULL && len > 0))
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jws_sign needs a key, a payload and an output");
    if ((rc = HWJ_OPTS_LOAD(ob, opts, hwj_jws_sign_opts, err)) != HWJ_OK)
        return rc;
    if (payload == NULL)
        payload = (const uint8_t *)"";
    switch (o->format) {
    case HWJ_JWS_COMPACT: return sign_compact(key, o, payload, len, out, err);
    case HWJ_JWS_JSON: return sign_json(&key, o, 1, 0, payload, len, out, err);
    case HWJ_JWS_JSON_FLAT: return sign_json(&key, o, 1, 1, payload, len, out, err);
    }
    return hwj_error_set(err, HWJ_ERR_ARG, "unknown JWS serialization format %d", (int)o->format);
}

HWJ_EXPORT hwj_err hwj_jws_sign_multi(hwj_key *const *keys, const hwj_jws_sign_opts *opts, size_t n,
                                      const uint8_t *payload, size_t len, char **out,
                                      hwj_error *err)
{
    hwj_jws_sign_opts *ob = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (keys == NULL || n == 0 || out == NULL || (payload == NULL && len > 0))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_jws_sign_multi needs keys, a payload and an output");
    if (n > HWJ_JWS_MAX_SIGNATURES)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "at most %d signatures per JWS",
                             HWJ_JWS_MAX_SIGNATURES);
    for (size_t i = 0; i < n; i++)
        if (keys[i] == NULL)
            return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jws_sign_multi: key #%zu is NULL", i);
    if (payload == NULL)
        payload = (const uint8_t *)"";
    if ((rc = hwj_opts_load_array((void **)&ob, sizeof *ob, opts, n, "hwj_jws_sign_opts", err)) !=
        HWJ_OK)
        return rc;
    rc = sign_json(keys, ob, n, 0, payload, len, out, err);
    free(ob);
    return rc;
}
