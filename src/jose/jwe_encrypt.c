/* jwe_encrypt.c: hwj_jwe_encrypt — key management per recipient, the headers, content
 * encryption and the three serializations (RFC 7516 §5.1, §7). */
#include "jose/jwe_internal.h"

#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/opts.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

/* Parse an optional caller-supplied JSON object. */
static hwj_err opt_object(const char *text, const char *what, json_t **out, hwj_error *err)
{
    /* Key-management members hwjose computes itself: a caller's "apu"/"apv" would not enter
     * the Concat KDF, a caller's "epk", "iv", "tag", "p2s", "p2c" would not be the ones used —
     * either way a JWE that does not decrypt. */
    static const char *const own[] = {"epk", "apu", "apv", "iv", "tag", "p2s", "p2c"};
    *out = NULL;
    if (text == NULL)
        return HWJ_OK;
    hwj_err rc = hwj_json_parse_object(text, strlen(text), 0, what, out, err);
    if (rc != HWJ_OK && err != NULL)
        err->code = HWJ_ERR_ARG; /* the caller's JSON, not the input's */
    for (size_t i = 0; rc == HWJ_OK && i < sizeof(own) / sizeof(own[0]); i++)
        if (json_object_get(*out, own[i]) != NULL) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "%s: \"%s\" is computed by the library and cannot be set", what,
                               own[i]);
            json_decref(*out);
            *out = NULL;
        }
    return rc == HWJ_OK ? HWJ_OK : HWJ_ERR_ARG;
}

/* Add src's members to dst; a member already present is a caller error (headers must
 * be disjoint, and hwjose's own members are not to be overridden). */
static hwj_err add_members(json_t *dst, const json_t *src, const char *what, hwj_error *err)
{
    const char *dup = NULL;
    hwj_err rc = hwj_json_merge_disjoint(dst, src, &dup, err);
    if (rc == HWJ_ERR_PARSE)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "%s: header member \"%s\" is set twice; JWE headers must be "
                             "disjoint",
                             what, dup);
    return rc;
}

static hwj_err set_str(json_t *obj, const char *k, const char *v, hwj_error *err)
{
    if (v == NULL)
        return HWJ_OK;
    if (json_object_get(obj, k) != NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "JWE header member \"%s\" is set twice", k);
    return json_object_set_new(obj, k, json_string(v)) == 0
               ? HWJ_OK
               : hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
}

static hwj_err set_b64(json_t *obj, const char *k, const uint8_t *v, size_t len, hwj_error *err)
{
    char *s = NULL;
    hwj_err rc = hwj_b64url_encode(v, len, &s, err);
    if (rc == HWJ_OK && json_object_set_new(obj, k, json_string(s)) != 0)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    free(s);
    return rc;
}

/* One recipient's header ("alg", "kid", key-management members) and encrypted key. */
static hwj_err do_recipient(const hwj_jwe_recipient *r, hwj_alg enc, uint8_t *cek, size_t ceklen,
                            json_t **hdr, uint8_t **ek, size_t *eklen, hwj_error *err)
{
    const char *kid = r->kid ? r->kid : (r->jwk ? hwj_jwk_get0_kid(r->jwk) : NULL);
    json_t *h = json_object();
    hwj_err rc;

    if (h == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = set_str(h, "alg", hwj_alg_name(r->alg), err)) != HWJ_OK ||
        (rc = set_str(h, "kid", (kid && kid[0]) ? kid : NULL, err)) != HWJ_OK ||
        (rc = hwj_jwe_km_encrypt(r, enc, cek, ceklen, h, ek, eklen, err)) != HWJ_OK) {
        json_decref(h);
        return rc;
    }
    *hdr = h;
    return HWJ_OK;
}

static hwj_err serialize(hwj_jwe_format fmt, const char *prot_b64, json_t *unprot,
                         json_t *const *rh, uint8_t *const *ek, const size_t *eklen, size_t n,
                         const char *aad_b64, const uint8_t *iv, size_t ivlen, const uint8_t *ct,
                         size_t ctlen, const uint8_t *tag, size_t taglen, char **out,
                         hwj_error *err)
{
    json_t *root = json_object(), *rcpts = NULL;
    char *parts[4] = {0};
    hwj_err rc = HWJ_ERR_NOMEM;

    if (root == NULL)
        goto out;
    if (fmt == HWJ_JWE_COMPACT) {
        if ((rc = hwj_b64url_encode(ek[0], eklen[0], &parts[0], err)) != HWJ_OK ||
            (rc = hwj_b64url_encode(iv, ivlen, &parts[1], err)) != HWJ_OK ||
            (rc = hwj_b64url_encode(ct, ctlen, &parts[2], err)) != HWJ_OK ||
            (rc = hwj_b64url_encode(tag, taglen, &parts[3], err)) != HWJ_OK)
            goto out;
        size_t total = strlen(prot_b64) + 5;
        for (int i = 0; i < 4; i++)
            total += strlen(parts[i]);
        if ((*out = malloc(total)) == NULL) {
            rc = HWJ_ERR_NOMEM;
            goto out;
        }
        snprintf(*out, total, "%s.%s.%s.%s.%s", prot_b64, parts[0], parts[1], parts[2], parts[3]);
        rc = HWJ_OK;
        goto out;
    }
    json_object_set_new(root, "protected", json_string(prot_b64));
    if (unprot != NULL)
        json_object_set(root, "unprotected", unprot);
    if (fmt == HWJ_JWE_JSON && (rcpts = json_array()) == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *r = fmt == HWJ_JWE_JSON ? json_object() : json_incref(root);
        if (r == NULL)
            goto out;
        if (rh[i] != NULL && json_object_size(rh[i]) > 0)
            json_object_set(r, "header", rh[i]);
        if (eklen[i] > 0 && (rc = set_b64(r, "encrypted_key", ek[i], eklen[i], err)) != HWJ_OK) {
            json_decref(r);
            goto out;
        }
        if (fmt == HWJ_JWE_JSON)
            json_array_append(rcpts, r);
        json_decref(r);
    }
    if (rcpts != NULL)
        json_object_set(root, "recipients", rcpts);
    if (aad_b64 != NULL)
        json_object_set_new(root, "aad", json_string(aad_b64));
    if ((rc = set_b64(root, "iv", iv, ivlen, err)) != HWJ_OK ||
        (rc = set_b64(root, "ciphertext", ct, ctlen, err)) != HWJ_OK ||
        (rc = set_b64(root, "tag", tag, taglen, err)) != HWJ_OK)
        goto out;
    rc = hwj_json_dump(root, out, err);
out:
    for (int i = 0; i < 4; i++)
        free(parts[i]);
    json_decref(rcpts);
    json_decref(root);
    if (rc == HWJ_ERR_NOMEM)
        return hwj_error_set(err, rc, "out of memory");
    return rc;
}

static hwj_err check_args(const hwj_jwe_recipient *rs, size_t n, const uint8_t *pt, size_t len,
                          const hwj_jwe_encrypt_opts *o, char **out, hwj_error *err)
{
    if (rs == NULL || n == 0 || (pt == NULL && len > 0) || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwe_encrypt: missing argument");
    if (n > HWJ_JWE_MAX_RECIPIENTS)
        return hwj_error_set(err, HWJ_ERR_ARG, "at most %u recipients", HWJ_JWE_MAX_RECIPIENTS);
    if (n > 1 && o->format != HWJ_JWE_JSON)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "several recipients need the general JSON serialization");
    if (o->format == HWJ_JWE_COMPACT && (o->unprotected_json || o->aad || rs[0].header_json))
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "unprotected headers and AAD need a JSON serialization");
    for (size_t i = 0; i < n; i++)
        if (hwj_jwe_km_is_direct(rs[i].alg) && n > 1)
            return hwj_error_set(err, HWJ_ERR_ARG, "%s allows only one recipient",
                                 hwj_alg_name(rs[i].alg));
    return HWJ_OK;
}

/* hwj_jwe_encrypt with the caller's structs in the library's layout. */
static hwj_err encrypt_loaded(const hwj_jwe_recipient *rs, size_t n, const uint8_t *pt, size_t len,
                              const hwj_jwe_encrypt_opts *o, char **out, hwj_error *err)
{
    hwj_alg enc = o->enc ? o->enc : HWJ_ENC_A256GCM;
    size_t ceklen = hwj_jwe_cek_len(enc), ivlen = hwj_jwe_iv_len(enc), i;
    uint8_t cek[JWE_CEK_MAX], iv[JWE_IV_MAX], tag[JWE_TAG_MAX];
    json_t *rh[HWJ_JWE_MAX_RECIPIENTS] = {0}, *prot = NULL, *unprot = NULL, *extra = NULL;
    uint8_t *ek[HWJ_JWE_MAX_RECIPIENTS] = {0}, *zipped = NULL, *aad = NULL, *ct = NULL;
    size_t eklen[HWJ_JWE_MAX_RECIPIENTS] = {0}, ziplen = 0, aadlen = 0, ctlen = 0;
    char *prot_json = NULL, *prot_b64 = NULL, *aad_b64 = NULL;
    hwj_err rc;

    if ((rc = check_args(rs, n, pt, len, o, out, err)) != HWJ_OK)
        return rc;
    if (ceklen == 0)
        return hwj_error_set(err, HWJ_ERR_ARG, "enc must be a JWE content encryption alg");
    if (!hwj_jwe_km_is_direct(rs[0].alg) && RAND_bytes(cek, (int)ceklen) != 1)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RAND_bytes failed");
    if ((prot = json_object()) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        if ((rc = do_recipient(&rs[i], enc, cek, ceklen, &rh[i], &ek[i], &eklen[i], err)) != HWJ_OK)
            goto out;
        if (n == 1) { /* one recipient: its members are protected too */
            if ((rc = add_members(prot, rh[0], "recipient", err)) != HWJ_OK)
                goto out;
            json_object_clear(rh[0]);
        }
        if ((rc = opt_object(rs[i].header_json, "recipient header_json", &extra, err)) != HWJ_OK ||
            (rc = add_members(rh[i], extra, "recipient header_json", err)) != HWJ_OK)
            goto out;
        json_decref(extra);
        extra = NULL;
    }
    if ((rc = set_str(prot, "enc", hwj_alg_name(enc), err)) != HWJ_OK ||
        (rc = set_str(prot, "zip", o->zip ? "DEF" : NULL, err)) != HWJ_OK ||
        (rc = set_str(prot, "cty", o->cty, err)) != HWJ_OK ||
        (rc = set_str(prot, "typ", o->typ, err)) != HWJ_OK ||
        (rc = opt_object(o->header_json, "header_json", &extra, err)) != HWJ_OK ||
        (rc = add_members(prot, extra, "header_json", err)) != HWJ_OK ||
        (rc = opt_object(o->unprotected_json, "unprotected_json", &unprot, err)) != HWJ_OK)
        goto out;
    /* The three headers must be disjoint (RFC 7516 §7.2.1). */
    for (i = 0; i < n; i++) {
        json_t *probe = json_deep_copy(rh[i]);
        rc = probe ? add_members(probe, unprot, "unprotected_json", err)
                   : hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        if (rc == HWJ_OK)
            rc = add_members(probe, prot, "protected header", err);
        json_decref(probe);
        if (rc != HWJ_OK)
            goto out;
    }
    if ((rc = hwj_json_dump(prot, &prot_json, err)) != HWJ_OK ||
        (rc = hwj_b64url_encode((const uint8_t *)prot_json, strlen(prot_json), &prot_b64, err)) !=
            HWJ_OK)
        goto out;
    if (o->aad != NULL && (rc = hwj_b64url_encode(o->aad, o->aad_len, &aad_b64, err)) != HWJ_OK)
        goto out;
    if ((rc = hwj_jwe_aad_build(prot_b64, aad_b64, &aad, &aadlen, err)) != HWJ_OK)
        goto out;
    if (o->zip && (rc = hwj_jwe_deflate(pt, len, &zipped, &ziplen, err)) != HWJ_OK)
        goto out;
    if (zipped != NULL) {
        pt = zipped;
        len = ziplen;
    }
    if (RAND_bytes(iv, (int)ivlen) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "RAND_bytes failed");
        goto out;
    }
    if ((ct = malloc(len + 16)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((rc = hwj_jwe_content_encrypt(enc, cek, iv, aad, aadlen, pt, len, ct, &ctlen, tag, err)) !=
        HWJ_OK)
        goto out;
    rc = serialize(o->format, prot_b64, unprot, rh, ek, eklen, n, aad_b64, iv, ivlen, ct, ctlen,
                   tag, hwj_jwe_tag_len(enc), out, err);
out:
    OPENSSL_cleanse(cek, sizeof(cek));
    for (i = 0; i < HWJ_JWE_MAX_RECIPIENTS; i++) {
        json_decref(rh[i]);
        free(ek[i]);
    }
    json_decref(prot);
    json_decref(unprot);
    json_decref(extra);
    hwj_free_secret(zipped, ziplen);
    free(aad);
    free(ct);
    free(prot_json);
    free(prot_b64);
    free(aad_b64);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwe_encrypt(const hwj_jwe_recipient *rs, size_t n, const uint8_t *pt,
                                   size_t len, const hwj_jwe_encrypt_opts *opts, char **out,
                                   hwj_error *err)
{
    hwj_jwe_encrypt_opts o;
    hwj_jwe_recipient *r = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_jwe_encrypt_opts, err)) != HWJ_OK ||
        (rc = hwj_opts_load_array((void **)&r, sizeof *r, rs, n, "hwj_jwe_recipient", err)) !=
            HWJ_OK)
        return rc;
    rc = encrypt_loaded(r, n, pt, len, &o, out, err);
    free(r);
    return rc;
}
