/* jwe_decrypt.c: hwj_jwe_decrypt — parse, apply the policy, unwrap the CEK through the
 * key provider, check the tag, decrypt, inflate. */
#include "jose/jwe_internal.h"

#include "core/error.h"
#include "core/opts.h"
#include "core/json.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static int allowed(const hwj_alg *list, size_t n, hwj_alg a)
{
    for (size_t i = 0; list != NULL && i < n; i++)
        if (list[i] == a)
            return 1;
    return 0;
}

static hwj_alg hdr_alg(const json_t *hdr, const char *name)
{
    return hwj_alg_from_name(json_string_value(json_object_get(hdr, name)));
}

HWJ_EXPORT void hwj_jwe_result_free(hwj_jwe_result *res)
{
    if (res == NULL)
        return;
    hwj_free_secret(res->plaintext, res->plaintext_len);
    free(res->protected_json);
    free(res->header_json);
    free(res->aad);
    free(res);
}

/* The result object, taking ownership of `pt` on success. */
static hwj_err make_result(const jwe_parsed *p, const json_t *hdr, size_t idx, uint8_t *pt,
                           size_t ptlen, hwj_jwe_result **out, hwj_error *err)
{
    hwj_jwe_result *res = calloc(1, sizeof(*res));
    json_t *empty = json_object();
    hwj_err rc = HWJ_ERR_NOMEM;

    if (res == NULL || empty == NULL)
        goto out;
    if ((rc = hwj_json_dump(p->protected ? p->protected : empty, &res->protected_json, err)) !=
            HWJ_OK ||
        (rc = hwj_json_dump(hdr, &res->header_json, err)) != HWJ_OK)
        goto out;
    if (p->aad != NULL) {
        if ((res->aad = malloc(p->aad_len)) == NULL) {
            rc = HWJ_ERR_NOMEM;
            goto out;
        }
        memcpy(res->aad, p->aad, p->aad_len);
        res->aad_len = p->aad_len;
    }
    res->alg = hdr_alg(hdr, "alg");
    res->enc = hdr_alg(hdr, "enc");
    res->recipient_index = idx;
    res->plaintext = pt;
    res->plaintext_len = ptlen;
    *out = res;
    res = NULL;
    rc = HWJ_OK;
out:
    json_decref(empty);
    if (res != NULL) {
        res->plaintext = NULL;
        hwj_jwe_result_free(res);
    }
    if (rc == HWJ_ERR_NOMEM)
        return hwj_error_set(err, rc, "out of memory");
    return rc;
}

/* Try recipient i: unwrap its CEK, decrypt the content. */
static hwj_err try_recipient(const jwe_parsed *p, const json_t *hdr, size_t i, hwj_alg enc,
                             const uint8_t *aad, size_t aadlen, const hwj_jwe_decrypt_opts *opts,
                             uint8_t *pt, size_t *ptlen, hwj_error *err)
{
    uint8_t cek[JWE_CEK_MAX];
    size_t ceklen = hwj_jwe_cek_len(enc);
    hwj_err rc = hwj_jwe_km_decrypt(hdr_alg(hdr, "alg"), enc, hdr, p->rcpt[i].ek, p->rcpt[i].eklen,
                                    opts, cek, ceklen, err);
    if (rc == HWJ_OK)
        rc = hwj_jwe_content_decrypt(enc, cek, p->iv, p->ivlen, aad, aadlen, p->ct, p->ctlen,
                                     p->tag, p->taglen, pt, ptlen, err);
    OPENSSL_cleanse(cek, sizeof(cek));
    return rc;
}

/* hwj_jwe_decrypt with the caller's options in the library's layout. */
static hwj_err decrypt_loaded(const char *jwe, size_t len, const hwj_jwe_decrypt_opts *opts,
                              hwj_jwe_result **out, hwj_error *err)
{
    jwe_parsed p;
    json_t *hdrs[HWJ_JWE_MAX_RECIPIENTS] = {0};
    uint8_t *aad = NULL, *pt = NULL, *inflated = NULL;
    size_t aadlen = 0, ptlen = 0, ptcap = 0, max, usable = 0, i, won = 0, pbes2_tried = 0;
    hwj_alg enc = HWJ_ALG_UNKNOWN;
    hwj_error first = {0}, tmp;
    hwj_err rc, first_rc = HWJ_OK;

    memset(&p, 0, sizeof(p));
    max = opts->max_size ? opts->max_size : HWJ_DEFAULT_MAX_SIZE;
    if (len > max)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "JWE of %zu bytes exceeds the limit of %zu", len,
                             max);
    if ((rc = hwj_jwe_parse(jwe, len, opts->allow_json, &p, err)) != HWJ_OK)
        return rc;
    for (i = 0; i < p.nrcpt; i++) {
        if ((rc = hwj_jwe_header_merge(&p, i, opts->crit, opts->ncrit, &hdrs[i], err)) != HWJ_OK)
            goto out;
        if (i > 0 && hdr_alg(hdrs[i], "enc") != enc) {
            rc = hwj_error_set(err, HWJ_ERR_PARSE, "JWE: recipients disagree on \"enc\"");
            goto out;
        }
        enc = hdr_alg(hdrs[i], "enc");
    }
    if (hwj_alg_get_kind(enc) != HWJ_ALG_KIND_ENC) {
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "JWE \"enc\" \"%s\" is not supported",
                           json_string_value(json_object_get(hdrs[0], "enc")));
        goto out;
    }
    if (!allowed(opts->encs, opts->nencs, enc)) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY, "JWE enc %s is not in the allow-list",
                           hwj_alg_name(enc));
        goto out;
    }
    if ((rc = hwj_jwe_aad_build(p.protected_b64, p.aad_b64, &aad, &aadlen, err)) != HWJ_OK)
        goto out;
    ptcap = p.ctlen + 1;
    if ((pt = malloc(ptcap)) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = HWJ_ERR_DECRYPT;
    for (i = 0; i < p.nrcpt && rc != HWJ_OK; i++) {
        hwj_alg alg = hdr_alg(hdrs[i], "alg");
        if (hwj_alg_get_kind(alg) != HWJ_ALG_KIND_KM || !allowed(opts->algs, opts->nalgs, alg) ||
            !hwj_jwe_km_fits(alg, enc, opts))
            continue;
        /* PBKDF2 is costly by design: one password attempt per JWE, so that many PBES2
         * recipients cannot multiply the work an attacker gets for free. */
        if (alg >= HWJ_ALG_PBES2_HS256_A128KW && alg <= HWJ_ALG_PBES2_HS512_A256KW && pbes2_tried++)
            continue;
        usable++;
        rc = try_recipient(&p, hdrs[i], i, enc, aad, aadlen, opts, pt, &ptlen, &tmp);
        if (rc == HWJ_OK)
            won = i;
        else if (rc != HWJ_ERR_DECRYPT && first_rc == HWJ_OK) {
            first_rc = rc; /* a header or token problem says more than "failed" */
            first = tmp;
        }
    }
    if (rc != HWJ_OK) {
        if (usable == 0)
            rc = hwj_error_set(err, HWJ_ERR_POLICY,
                               "no recipient of this JWE uses an allowed alg that fits the key "
                               "(alg \"%s\")",
                               json_string_value(json_object_get(hdrs[0], "alg")));
        else if (first_rc != HWJ_OK) {
            rc = first_rc;
            if (err != NULL)
                *err = first;
        } else
            rc = hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
        goto out;
    }
    if (json_object_get(p.protected, "zip") != NULL) {
        if ((rc = hwj_jwe_inflate(pt, ptlen, opts->max_inflated, opts->max_ratio, &inflated, &ptlen,
                                  err)) != HWJ_OK)
            goto out;
        hwj_free_secret(pt, ptcap);
        pt = inflated;
        ptcap = ptlen + 1;
        inflated = NULL;
    } else {
        pt[ptlen] = '\0';
    }
    if ((rc = make_result(&p, hdrs[won], won, pt, ptlen, out, err)) == HWJ_OK)
        pt = NULL;
out:
    if (pt != NULL)
        hwj_free_secret(pt, ptcap);
    free(aad);
    for (i = 0; i < HWJ_JWE_MAX_RECIPIENTS; i++)
        json_decref(hdrs[i]);
    hwj_jwe_parsed_clear(&p);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwe_decrypt(const char *jwe, size_t len, const hwj_jwe_decrypt_opts *opts,
                                   hwj_jwe_result **out, hwj_error *err)
{
    hwj_jwe_decrypt_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if (jwe == NULL || opts == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwe_decrypt: missing argument");
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_jwe_decrypt_opts, err)) != HWJ_OK)
        return rc;
    return decrypt_loaded(jwe, len, &o, out, err);
}
