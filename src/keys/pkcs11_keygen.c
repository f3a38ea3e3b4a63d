/* pkcs11_keygen.c: generating key pairs inside a token, and listing a token's keys. */
#include "keys/pkcs11_internal.h"

#include "core/alg.h"
#include "core/b64url.h"
#include "core/error.h"
#include "core/jwk.h"

#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define MAXATTR 20

typedef struct tmpl {
    CK_ATTRIBUTE a[MAXATTR];
    CK_ULONG n;
} tmpl;

static void put(tmpl *t, CK_ATTRIBUTE_TYPE type, const void *v, CK_ULONG len)
{
    t->a[t->n++] = (CK_ATTRIBUTE){type, (void *)v, len};
}

static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static void put_bool(tmpl *t, CK_ATTRIBUTE_TYPE type, int v)
{
    put(t, type, v ? &yes : &no, sizeof(CK_BBOOL));
}

static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const uint8_t str_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                      'd',  's',  '2', '5', '5', '1', '9'};

/* The mechanisms an RSA decryption key may use (CKA_ALLOWED_MECHANISMS, enforced by the
 * token): OAEP, and raw RSA for tokens that refuse OAEP with SHA-256 (docs/pkcs11.md) — never
 * CKM_RSA_PKCS, so such a key can never do RSA1_5 (a padding oracle by design). Signing keys
 * keep their family (an RSA key made for RS256 may sign RS384), so they get none. */
static CK_ULONG allowed_mechs(hwj_alg alg, CK_MECHANISM_TYPE out[2])
{
    if (alg != HWJ_ALG_RSA_OAEP && alg != HWJ_ALG_RSA_OAEP_256)
        return 0;
    out[0] = CKM_RSA_PKCS_OAEP;
    out[1] = CKM_RSA_X_509;
    return 2;
}

/* Is there any object labelled `label` in the token? */
static hwj_err label_free(p11_token *t, CK_SESSION_HANDLE s, const char *label, hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_ATTRIBUTE a = {CKA_LABEL, (void *)label, strlen(label)};
    CK_OBJECT_HANDLE h;
    CK_ULONG n = 0;
    CK_RV rv = p11_find(f, s, &a, 1, &h, 1, &n);
    if (rv != CKR_OK)
        return p11_error(err, rv, "searching token '%s'", t->label);
    if (n > 0)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "an object named '%s' already exists in token '%s'; choose another "
                             "object= name or delete the old object first",
                             label, t->label);
    return HWJ_OK;
}

/* The kid (RFC 7638 thumbprint) becomes CKA_ID of both halves: `id=` then links a URI to
 * the JWK's kid. */
static hwj_err set_ids(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub,
                       CK_OBJECT_HANDLE priv, struct hwj_key *key, p11_key *pk, hwj_error *err)
{
    char *kid = NULL;
    uint8_t id[64];
    size_t idlen = 0;
    hwj_err rc;
    CK_RV rv;

    if ((rc = hwj_pkey_thumbprint(key->pkey, &kid, err)) != HWJ_OK)
        return rc;
    if ((rc = hwj_b64url_decode_to(kid, strlen(kid), id, &idlen, "kid", err)) != HWJ_OK)
        goto out;
    CK_ATTRIBUTE a = {CKA_ID, id, idlen};
    if ((rv = t->mod->f->C_SetAttributeValue(s, pub, &a, 1)) != CKR_OK ||
        (rv = t->mod->f->C_SetAttributeValue(s, priv, &a, 1)) != CKR_OK) {
        rc = p11_error(err, rv, "setting CKA_ID of the new key in token '%s'", t->label);
        goto out;
    }
    memcpy(pk->id, id, idlen);
    pk->idlen = idlen;
    key->kid = kid;
    kid = NULL;
out:
    free(kid);
    return rc;
}

hwj_err p11_generate(void *state, const char *uri, const hwj_keygen_opts *opts, struct hwj_key *key,
                     hwj_error *err)
{
    hwj_key_open_opts oo = {.size = sizeof(hwj_key_open_opts), .pin = opts->pin};
    CK_MECHANISM mech = {0};
    CK_ULONG bits = opts->bits ? opts->bits : 3072;
    const uint8_t pubexp[] = {0x01, 0x00, 0x01};
    const uint8_t *params = NULL;
    size_t plen = 0;
    uint8_t tmpid[16];
    CK_MECHANISM_TYPE allowed[2];
    CK_ULONG nallowed;
    tmpl pub = {0}, priv = {0};
    int sign = 0, decrypt = 0, derive = 0;
    CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    p11_token *t = NULL;
    unsigned gen = 0;
    p11_uri u;
    hwj_err rc;
    CK_RV rv = CKR_OK;

    if ((rc = p11_uri_parse(uri, &u, err)) != HWJ_OK)
        return rc;
    if (!u.has_object || u.object[0] == '\0') {
        rc = hwj_error_set(err, HWJ_ERR_ARG,
                           "generating a key needs a name: pkcs11:token=T;object=NAME");
        goto out;
    }
    switch (opts->alg) {
    case HWJ_ALG_RS256:
    case HWJ_ALG_RS384:
    case HWJ_ALG_RS512:
    case HWJ_ALG_PS256:
    case HWJ_ALG_PS384:
    case HWJ_ALG_PS512:
        sign = 1;
        /* fall through */
    case HWJ_ALG_RSA_OAEP:
    case HWJ_ALG_RSA_OAEP_256:
        decrypt = !sign;
        if (bits < 2048 || bits > 8192 || bits % 8 != 0) {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "RSA keys are 2048 to 8192 bits (a multiple of 8); got %lu",
                               (unsigned long)bits);
            goto out;
        }
        mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
        put(&pub, CKA_MODULUS_BITS, &bits, sizeof(bits));
        put(&pub, CKA_PUBLIC_EXPONENT, pubexp, sizeof(pubexp));
        break;
    case HWJ_ALG_ES256:
        params = oid_p256;
        plen = sizeof(oid_p256);
        sign = 1;
        break;
    case HWJ_ALG_ES384:
        params = oid_p384;
        plen = sizeof(oid_p384);
        sign = 1;
        break;
    case HWJ_ALG_ES512:
        params = oid_p521;
        plen = sizeof(oid_p521);
        sign = 1;
        break;
    case HWJ_ALG_ECDH_ES:
    case HWJ_ALG_ECDH_ES_A128KW:
    case HWJ_ALG_ECDH_ES_A192KW:
    case HWJ_ALG_ECDH_ES_A256KW:
        /* --bits picks the curve: 256 (default), 384, 521 */
        derive = 1;
        if (opts->bits == 0 || opts->bits == 256) {
            params = oid_p256;
            plen = sizeof(oid_p256);
        } else if (opts->bits == 384) {
            params = oid_p384;
            plen = sizeof(oid_p384);
        } else if (opts->bits == 521) {
            params = oid_p521;
            plen = sizeof(oid_p521);
        } else {
            rc = hwj_error_set(err, HWJ_ERR_ARG,
                               "an ECDH-ES key's size picks its curve: 256, 384 or 521 bits");
            goto out;
        }
        break;
    case HWJ_ALG_EDDSA:
    case HWJ_ALG_ED25519:
        params = oid_ed25519;
        plen = sizeof(oid_ed25519);
        sign = 1;
        break;
    default:
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                           "cannot generate a PKCS#11 key for %s; use ES256, ES384, ES512, RS256.."
                           "PS512, EdDSA, Ed25519, RSA-OAEP, RSA-OAEP-256 or ECDH-ES",
                           hwj_alg_name(opts->alg) ? hwj_alg_name(opts->alg) : "?");
        goto out;
    }
    if (params != NULL) {
        mech.mechanism =
            hwj_alg_is_ed25519(opts->alg) ? CKM_EC_EDWARDS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
        put(&pub, CKA_EC_PARAMS, params, plen);
    }
    if (RAND_bytes(tmpid, sizeof(tmpid)) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "no randomness");
        goto out;
    }
    /* The private half: in the token, behind the PIN, never readable, only what alg needs. */
    put_bool(&priv, CKA_TOKEN, 1);
    put_bool(&priv, CKA_PRIVATE, 1);
    put_bool(&priv, CKA_SENSITIVE, 1);
    put_bool(&priv, CKA_EXTRACTABLE, 0);
    put_bool(&priv, CKA_SIGN, sign);
    put_bool(&priv, CKA_DECRYPT, decrypt);
    put_bool(&priv, CKA_DERIVE, derive);
    put_bool(&priv, CKA_UNWRAP, 0);
    put_bool(&priv, CKA_SIGN_RECOVER, 0);
    put(&priv, CKA_LABEL, u.object, strlen(u.object));
    put(&priv, CKA_ID, tmpid, sizeof(tmpid));
    if ((nallowed = allowed_mechs(opts->alg, allowed)) > 0) /* last: dropped if refused */
        put(&priv, CKA_ALLOWED_MECHANISMS, allowed, nallowed * sizeof(allowed[0]));
    put_bool(&pub, CKA_TOKEN, 1);
    put_bool(&pub, CKA_PRIVATE, 0);
    put_bool(&pub, CKA_VERIFY, sign);
    put_bool(&pub, CKA_ENCRYPT, decrypt);
    put_bool(&pub, CKA_WRAP, 0);
    put(&pub, CKA_LABEL, u.object, strlen(u.object));
    put(&pub, CKA_ID, tmpid, sizeof(tmpid));

    if ((rc = p11_one_token(state, &u, &t, err)) != HWJ_OK)
        goto out;
    p11_module_enter(t->mod);
    if ((rc = p11_token_login(t, &u, &oo, err)) != HWJ_OK ||
        (rc = p11_session_get(t, &s, &gen, err)) != HWJ_OK)
        goto out;
    if ((rc = label_free(t, s, u.object, err)) != HWJ_OK)
        goto out;
    if (!p11_token_has_mech(t, mech.mechanism, CKF_GENERATE_KEY_PAIR, NULL)) {
        rc = hwj_error_set(err, HWJ_ERR_CAPABILITY,
                           "token '%s' cannot generate %s keys (no CKM 0x%lx)", t->label,
                           hwj_alg_name(opts->alg), (unsigned long)mech.mechanism);
        goto out;
    }
    rv = t->mod->f->C_GenerateKeyPair(s, &mech, pub.a, pub.n, priv.a, priv.n, &hpub, &hpriv);
    if (rv == CKR_ATTRIBUTE_TYPE_INVALID && nallowed > 0) {
        /* A pre-2.40 token without CKA_ALLOWED_MECHANISMS: the binding is hwjose's only. */
        priv.n--;
        rv = t->mod->f->C_GenerateKeyPair(s, &mech, pub.a, pub.n, priv.a, priv.n, &hpub, &hpriv);
    }
    if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_TEMPLATE_INCONSISTENT ||
        rv == CKR_CURVE_NOT_SUPPORTED || rv == CKR_DOMAIN_PARAMS_INVALID) {
        if (hwj_alg_is_ed25519(opts->alg)) {
            /* SoftHSM 2.6 names Ed25519 by the PrintableString "edwards25519", not the OID. */
            for (CK_ULONG i = 0; i < pub.n; i++)
                if (pub.a[i].type == CKA_EC_PARAMS) {
                    pub.a[i].pValue = (void *)str_ed25519;
                    pub.a[i].ulValueLen = sizeof(str_ed25519);
                }
            rv =
                t->mod->f->C_GenerateKeyPair(s, &mech, pub.a, pub.n, priv.a, priv.n, &hpub, &hpriv);
        }
    }
    if (rv != CKR_OK) {
        rc = p11_error(err, rv, "generating a %s key in token '%s'", hwj_alg_name(opts->alg),
                       t->label);
        goto out;
    }
    if ((rc = p11_key_attach(t, s, hpriv, gen, key, err)) != HWJ_OK)
        goto out;
    if ((rc = set_ids(t, s, hpub, hpriv, key, key->impl, err)) != HWJ_OK) {
        p11_key_close(key);
        EVP_PKEY_free(key->pkey);
        key->pkey = NULL;
        goto out;
    }
    key->alg = opts->alg;
out:
    if (rc != HWJ_OK && hpriv != CK_INVALID_HANDLE) {
        /* leave no half-made key behind */
        t->mod->f->C_DestroyObject(s, hpriv);
        t->mod->f->C_DestroyObject(s, hpub);
    }
    if (s != CK_INVALID_HANDLE)
        p11_session_put(t, s, gen, rv);
    if (t != NULL)
        p11_module_leave(t->mod);
    p11_uri_clear(&u);
    return rc;
}

/* ---- listing ---- */

static json_t *describe(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                        const char *module_path)
{
    struct hwj_key key = {0};
    p11_key pk = {0};
    hwj_error e = {0};
    json_t *o = json_object();
    char *uri = NULL;

    key.custody.backend = "pkcs11";
    key.custody.hardware = key.custody.sensitive = key.custody.always_sensitive = -1;
    key.custody.extractable = key.custody.never_extractable = key.custody.local = -1;
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "token", json_string(t->label));
    hwj_err rc = p11_probe_key(t, s, h, &key, &pk, &e);
    uri =
        p11_uri_for_object(t->label, pk.has_label ? pk.label : NULL, pk.id, pk.idlen, module_path);
    json_object_set_new(o, "uri", json_string(uri ? uri : ""));
    if (rc != HWJ_OK)
        json_object_set_new(o, "error", json_string(e.message));
    else if (hwj_key_describe(&key, o) != HWJ_OK) {
        json_decref(o);
        o = NULL;
    }
    EVP_PKEY_free(key.pkey);
    free(uri);
    return o;
}

#define MAX_TOKENS 32
#define MAX_KEYS 512

hwj_err p11_list(void *state, const char *uri, const hwj_key_open_opts *opts, json_t *list,
                 hwj_error *err)
{
    p11_state *st = state;
    p11_module *m = NULL;
    p11_token *toks[MAX_TOKENS];
    size_t nt = 0;
    p11_uri u;
    hwj_err rc;

    if ((rc = p11_uri_parse(uri, &u, err)) != HWJ_OK)
        return rc;
    if ((rc = p11_module_get(st, p11_module_path_for(&u), &m, err)) != HWJ_OK ||
        (rc = p11_tokens_match(st, m, &u, toks, MAX_TOKENS, &nt, err)) != HWJ_OK)
        goto out;
    if (nt == 0) {
        rc = hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                           "no initialised token%s%s%s in the PKCS#11 module '%s'; check the "
                           "module (for SoftHSM: SOFTHSM2_CONF)",
                           u.token[0] ? " '" : "", u.token, u.token[0] ? "'" : "", m->path);
        goto out;
    }
    for (size_t i = 0; i < nt && rc == HWJ_OK; i++) {
        p11_token *t = toks[i];
        CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
        CK_ATTRIBUTE a = {CKA_CLASS, &cls, sizeof(cls)};
        CK_OBJECT_HANDLE *hs = NULL;
        CK_ULONG n = 0;
        CK_SESSION_HANDLE s;
        unsigned gen;
        CK_RV rv;

        p11_module_enter(m);
        if ((rc = p11_token_login(t, &u, opts, err)) != HWJ_OK ||
            (rc = p11_session_get(t, &s, &gen, err)) != HWJ_OK) {
            p11_module_leave(m);
            break;
        }
        if ((hs = calloc(MAX_KEYS, sizeof(*hs))) == NULL) {
            rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        } else if ((rv = p11_find(t->mod->f, s, &a, 1, hs, MAX_KEYS, &n)) != CKR_OK) {
            rc = p11_error(err, rv, "listing the keys of token '%s'", t->label);
        }
        for (CK_ULONG k = 0; rc == HWJ_OK && k < n; k++) {
            json_t *o = describe(t, s, hs[k], u.module_path);
            if (o == NULL)
                rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
            else
                json_array_append_new(list, o);
        }
        free(hs);
        p11_session_put(t, s, gen, CKR_OK);
        p11_module_leave(m);
    }
out:
    p11_uri_clear(&u);
    return rc;
}
