/* jwks.c: JWK sets (RFC 7517 §5), key choice for a token, and the public JWK of an opened
 * key. A set is all-or-nothing: one invalid member makes the set invalid, so that a typo
 * never silently drops the key a verifier needed. */
#include "core/opts.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/jwk.h"
#include "core/roca.h"
#include "jose/jws_internal.h"

#include <hwjose/jwk.h>
#include <hwjose/key.h>

#include <stdlib.h>
#include <string.h>

#define JWKS_MAX_KEYS 1000
#define JWKS_MAX_SIZE ((size_t)1024 * 1024)

struct hwj_jwks {
    hwj_jwk **keys;
    size_t n, cap;
    /* Kept on append, so that the set rules cost nothing per token. */
    size_t n_oct, n_public, n_private; /* the last two count asymmetric keys only */
};

HWJ_EXPORT hwj_err hwj_jwks_new(hwj_jwks **out, hwj_error *err)
{
    hwj_error_reset(err);
    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_new: out is NULL");
    if ((*out = calloc(1, sizeof(**out))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}

HWJ_EXPORT void hwj_jwks_free(hwj_jwks *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        hwj_jwk_free(set->keys[i]);
    free(set->keys);
    free(set);
}

/* Append without resetting err (hwj_jwks_parse prefixes messages). A kid names one key: a
 * second key with the same kid would let the token's header choose between them. */
static hwj_err jwks_append(hwj_jwks *set, hwj_jwk *jwk, hwj_error *err)
{
    if (set->n >= JWKS_MAX_KEYS) {
        hwj_jwk_free(jwk);
        return hwj_error_set(err, HWJ_ERR_LIMIT, "a JWKS may hold at most %d keys", JWKS_MAX_KEYS);
    }
    for (size_t i = 0; jwk->kid != NULL && i < set->n; i++)
        if (set->keys[i]->kid != NULL && strcmp(set->keys[i]->kid, jwk->kid) == 0) {
            hwj_error_set(err, HWJ_ERR_POLICY,
                          "kid '%.64s' is already used by key #%zu; kids must be unique within "
                          "a JWKS: give each key its own kid",
                          jwk->kid, i);
            hwj_jwk_free(jwk);
            return HWJ_ERR_POLICY;
        }
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4;
        hwj_jwk **keys = realloc(set->keys, cap * sizeof(*keys));
        if (keys == NULL) {
            hwj_jwk_free(jwk);
            return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        }
        set->keys = keys;
        set->cap = cap;
    }
    set->keys[set->n++] = jwk;
    if (jwk->kty == HWJ_KTY_OCT)
        set->n_oct++;
    else if (jwk->is_private)
        set->n_private++;
    else
        set->n_public++;
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwks_add(hwj_jwks *set, hwj_jwk *jwk, hwj_error *err)
{
    hwj_error_reset(err);
    if (set == NULL || jwk == NULL) {
        hwj_jwk_free(jwk);
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_add: missing argument");
    }
    return jwks_append(set, jwk, err);
}

HWJ_EXPORT size_t hwj_jwks_count(const hwj_jwks *set)
{
    return set ? set->n : 0;
}

HWJ_EXPORT const hwj_jwk *hwj_jwks_get0(const hwj_jwks *set, size_t i)
{
    return set != NULL && i < set->n ? set->keys[i] : NULL;
}

HWJ_EXPORT hwj_err hwj_jwks_parse_ex(const char *json, size_t len, const hwj_jwk_parse_opts *opts,
                                     hwj_jwks **out, hwj_error *err)
{
    json_t *obj = NULL, *keys;
    hwj_jwks *set = NULL;
    hwj_jwk_parse_opts o;
    hwj_err rc;

    hwj_error_reset(err);
    if (json == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_parse: missing argument");
    if ((rc = HWJ_OPTS_LOAD(o, opts, hwj_jwk_parse_opts, err)) != HWJ_OK)
        return rc;
    if (len > JWKS_MAX_SIZE)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "JWKS is larger than %zu bytes", JWKS_MAX_SIZE);
    if ((rc = hwj_json_parse_object(json, len, 0, "JWKS", &obj, err)) != HWJ_OK)
        return rc;
    keys = json_object_get(obj, "keys");
    if (!json_is_array(keys)) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "JWKS must be an object with a \"keys\" array (RFC 7517 §5); a single "
                           "JWK is not a key set: read it as a JWK");
        goto out;
    }
    if (json_array_size(keys) > JWKS_MAX_KEYS) {
        rc = hwj_error_set(err, HWJ_ERR_LIMIT, "JWKS has %zu keys; at most %d are allowed",
                           json_array_size(keys), JWKS_MAX_KEYS);
        goto out;
    }
    if ((set = calloc(1, sizeof(*set))) == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(keys); i++) {
        hwj_jwk *jwk = NULL;
        if ((rc = hwj_jwk_from_json(json_array_get(keys, i), &jwk, err)) == HWJ_OK && jwk->roca &&
            !o.allow_roca) {
            hwj_jwk_free(jwk);
            rc = hwj_roca_refuse("the key", 0, err);
        }
        if (rc != HWJ_OK || (rc = jwks_append(set, jwk, err)) != HWJ_OK) {
            hwj_error_prefix(err, "JWKS key #%zu", i);
            goto out;
        }
    }
out:
    json_decref(obj);
    if (rc != HWJ_OK) {
        hwj_jwks_free(set);
        return rc;
    }
    *out = set;
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwks_parse(const char *json, size_t len, hwj_jwks **out, hwj_error *err)
{
    return hwj_jwks_parse_ex(json, len, NULL, out, err);
}

HWJ_EXPORT hwj_err hwj_jwks_read_file_ex(const char *path, const hwj_jwk_parse_opts *opts,
                                         hwj_jwks **out, hwj_error *err)
{
    char *text = NULL;
    size_t len = 0;
    hwj_err rc;

    hwj_error_reset(err);
    if (path == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_read_file: missing argument");
    if ((rc = hwj_file_read(path, JWKS_MAX_SIZE, "JWKS file", &text, &len, err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_jwks_parse_ex(text, len, opts, out, err)) != HWJ_OK)
        hwj_error_prefix(err, "JWKS file '%s'", path);
    hwj_free_secret(text, len + 1); /* a set of oct keys is secret */
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwks_read_file(const char *path, hwj_jwks **out, hwj_error *err)
{
    return hwj_jwks_read_file_ex(path, NULL, out, err);
}

/* A set mixing secret and public keys invites algorithm confusion (a public key used as an
 * HMAC secret); one mixing private and public keys to verify is a publishing mistake. */
static hwj_err jwks_check(const hwj_jwks *set, hwj_key_op op, hwj_error *err)
{
    size_t asym;

    if (set == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_check: set is NULL");
    asym = set->n_public + set->n_private;
    if (set->n_oct != 0 && asym != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the JWKS mixes %zu symmetric (oct) and %zu asymmetric keys; keep "
                             "secret and public keys in separate sets",
                             set->n_oct, asym);
    if (op == HWJ_OP_VERIFY && set->n_private != 0 && set->n_public != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the JWKS to verify with mixes %zu private and %zu public keys; "
                             "verify with the public keys only",
                             set->n_private, set->n_public);
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwks_check(const hwj_jwks *set, hwj_key_op op, hwj_error *err)
{
    hwj_error_reset(err);
    return jwks_check(set, op, err);
}

/* Publishing: public members only. An oct key has no public form, so a set holding one
 * cannot be published (rather than silently leaving it out or leaking it). */
HWJ_EXPORT hwj_err hwj_jwks_to_json(const hwj_jwks *set, char **json, hwj_error *err)
{
    json_t *obj = NULL, *keys = NULL;
    hwj_err rc = HWJ_OK;

    hwj_error_reset(err);
    if (set == NULL || json == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwks_to_json: missing argument");
    if ((obj = json_object()) == NULL || (keys = json_array()) == NULL ||
        json_object_set_new(obj, "keys", keys) != 0) {
        json_decref(keys);
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < set->n; i++) {
        char *text = NULL;
        json_t *k = NULL;
        if ((rc = hwj_jwk_to_json(set->keys[i], 0, &text, err)) != HWJ_OK) {
            hwj_error_prefix(err, "JWKS key #%zu", i);
            goto out;
        }
        k = json_loads(text, 0, NULL);
        free(text);
        if (k == NULL || json_array_append_new(keys, k) != 0) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    rc = hwj_json_dump(obj, json, err);
out:
    json_decref(obj);
    return rc;
}

HWJ_EXPORT hwj_err hwj_jwks_select(const hwj_jwks *set, const char *kid, hwj_alg alg, hwj_key_op op,
                                   const hwj_jwk **out, hwj_error *err)
{
    hwj_error_reset(err);
    return hwj_jwks_choose(set, kid, alg, op, out, err);
}

hwj_err hwj_jwks_choose(const hwj_jwks *set, const char *kid, hwj_alg alg, hwj_key_op op,
                        const hwj_jwk **out, hwj_error *err)
{
    const hwj_jwk *found = NULL;
    const char *name = hwj_alg_name(alg);
    size_t fits = 0, kid_matches = 0;
    hwj_error why; /* the reason the last kid match was refused */

    hwj_error_clear(err);
    hwj_error_clear(&why);
    if (set == NULL || out == NULL || name == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_jwks_select: a set, an alg and an output "
                             "are needed");
    if (jwks_check(set, op, err) != HWJ_OK)
        return HWJ_ERR_POLICY;
    /* A single verification key was chosen by the caller: the token's kid is only a hint. */
    if (set->n == 1 && op == HWJ_OP_VERIFY)
        kid = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const hwj_jwk *jwk = set->keys[i];
        if (kid != NULL && (jwk->kid == NULL || strcmp(jwk->kid, kid) != 0))
            continue;
        kid_matches++;
        if (hwj_jwk_fits(jwk, alg, op, &why) != HWJ_OK)
            continue;
        fits++;
        found = jwk;
    }
    if (fits == 1) {
        *out = found;
        return HWJ_OK;
    }
    if (fits > 1)
        return kid != NULL
                   ? hwj_error_set(err, HWJ_ERR_KEY_AMBIGUOUS,
                                   "%zu keys in the JWKS have kid '%.64s' and fit %s; kids must "
                                   "be unique: fix the JWKS",
                                   fits, kid, name)
                   : hwj_error_set(err, HWJ_ERR_KEY_AMBIGUOUS,
                                   "%zu keys in the JWKS fit %s and the token names no kid; give "
                                   "the keys kids (and the token a kid header), or verify with "
                                   "a single key",
                                   fits, name);
    if (kid != NULL && kid_matches == 0)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                             "no key with kid '%.64s' in the JWKS (%zu keys); check the "
                             "token's kid or update the JWKS",
                             kid, set->n);
    if (kid_matches == 1)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND, "the JWKS key%s%.64s%s cannot be used: %s",
                             kid ? " '" : "", kid ? kid : "", kid ? "'" : "", why.message);
    return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                         "none of the %zu%s keys in the JWKS fits %s (last reason: %s); add a "
                         "key for %s or allow the key's alg",
                         kid_matches, kid ? " matching" : "", name,
                         kid_matches ? why.message : "the set is empty", name);
}

HWJ_EXPORT hwj_err hwj_jwk_from_key(const hwj_key *key, hwj_jwk **out, hwj_error *err)
{
    char *json = NULL;
    hwj_err rc;

    hwj_error_reset(err);
    if (key == NULL || out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_from_key: missing argument");
    /* The key's own public JWK (kid; alg and use when it is bound), held to the same
     * import checks as any other JWK. */
    if ((rc = hwj_key_public_jwk(key, &json, err)) != HWJ_OK)
        return rc;
    /* The key passed its own checks at open (allow_roca included): take its JWK as it is. */
    rc = hwj_jwk_parse_ex(
        json, strlen(json),
        &(hwj_jwk_parse_opts){.size = sizeof(hwj_jwk_parse_opts), .allow_roca = 1}, out, err);
    hwj_free(json);
    return rc;
}
