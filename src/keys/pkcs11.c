/*
 * pkcs11.c: PKCS#11 keys — the ops table and the per-operation paths.
 *
 * Everything slow happens in open (URI parsing, module load, login, object search,
 * capability probing: pkcs11_probe.c). An operation takes a session from the token's
 * pool, calls Init + the single-part function on the handle found at open, and gives
 * the session back. A lost session or login (token reset, C_CloseAllSessions elsewhere)
 * is replaced and the operation retried once; a handle from before a fork or from before the
 * token went away is found again. A token that went away fails the operation at once (the
 * next one looks for it again); nothing is retried blindly more than once.
 */
#include "keys/pkcs11_internal.h"

#include "core/alg.h"
#include "core/digest.h"
#include "core/error.h"
#include "core/jwk.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hwj_err p11_ctx_init(void **state, hwj_error *err)
{
    return p11_state_new(state, err);
}

/* One token for a URI: exactly one must match. */
hwj_err p11_one_token(p11_state *st, const p11_uri *u, p11_token **t, hwj_error *err)
{
    p11_module *m = NULL;
    p11_token *toks[2];
    size_t n = 0;
    hwj_err rc;

    if (u->module_name != NULL && u->module_path == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "module-name= is not supported; name the module file with "
                             "module-path= (or HWJOSE_PKCS11_MODULE; p11-kit's proxy module "
                             "reaches every registered module)");
    if ((rc = p11_module_get(st, p11_module_path_for(u), &m, err)) != HWJ_OK)
        return rc;
    if ((rc = p11_tokens_match(st, m, u, toks, 2, &n, err)) != HWJ_OK)
        return rc;
    if (n == 0)
        return hwj_error_set(err, HWJ_ERR_KEY_NOT_FOUND,
                             "no token '%s' in the PKCS#11 module '%s'; list the tokens with a "
                             "PKCS#11 token listing (the URI pkcs11:) or check the module "
                             "(for SoftHSM: SOFTHSM2_CONF)",
                             u->token[0] ? u->token : "(any)", m->path);
    if (n > 1)
        return hwj_error_set(err, HWJ_ERR_KEY_AMBIGUOUS,
                             "the key URI matches more than one token in '%s'; add "
                             "token=LABEL (a PKCS#11 token listing shows the labels)",
                             m->path);
    *t = toks[0];
    return HWJ_OK;
}

hwj_err p11_key_attach(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, unsigned gen,
                       struct hwj_key *key, hwj_error *err)
{
    p11_key *pk = calloc(1, sizeof(*pk));
    hwj_err rc;
    if (pk == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = p11_probe_key(t, s, h, key, pk, err)) != HWJ_OK) {
        free(pk);
        return rc;
    }
    pthread_mutex_init(&pk->lock, NULL);
    atomic_store(&pk->priv, h);
    atomic_store(&pk->gen, gen);
    key->impl = pk;
    return HWJ_OK;
}

static hwj_err p11_open(void *state, const char *uri, const hwj_key_open_opts *opts,
                        struct hwj_key *key, hwj_error *err)
{
    p11_uri u;
    p11_token *t = NULL;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE h;
    unsigned gen;
    hwj_err rc;

    if ((rc = p11_uri_parse(uri, &u, err)) != HWJ_OK)
        return rc;
    if ((rc = p11_one_token(state, &u, &t, err)) != HWJ_OK)
        goto out;
    p11_module_enter(t->mod);
    if ((rc = p11_token_login(t, &u, opts, err)) == HWJ_OK &&
        (rc = p11_session_get(t, &s, &gen, err)) == HWJ_OK) {
        if ((rc = p11_find_private(t, s, &u, &h, err)) == HWJ_OK)
            rc = p11_key_attach(t, s, h, gen, key, err);
        p11_session_put(t, s, gen, CKR_OK);
    }
    p11_module_leave(t->mod);
out:
    p11_uri_clear(&u);
    return rc;
}

void p11_key_close(struct hwj_key *key)
{
    p11_key *pk = key->impl;
    if (pk == NULL)
        return;
    pthread_mutex_destroy(&pk->lock);
    free(pk);
    key->impl = NULL;
}

/* The private key's handle valid in generation `gen` (found again after a fork/reset). */
static CK_RV key_handle(p11_key *pk, CK_SESSION_HANDLE s, unsigned gen, CK_OBJECT_HANDLE *h)
{
    CK_FUNCTION_LIST *f = pk->tok->mod->f;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[4] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_KEY_TYPE, &pk->type, sizeof(pk->type)}};
    CK_ULONG n = 2, found = 0;
    CK_OBJECT_HANDLE hs[2];
    CK_RV rv = CKR_OK;

    if (atomic_load(&pk->gen) == gen) {
        *h = atomic_load(&pk->priv);
        return CKR_OK;
    }
    if (pk->idlen > 0)
        t[n++] = (CK_ATTRIBUTE){CKA_ID, pk->id, pk->idlen};
    if (pk->has_label)
        t[n++] = (CK_ATTRIBUTE){CKA_LABEL, pk->label, strlen(pk->label)};
    pthread_mutex_lock(&pk->lock);
    if (atomic_load(&pk->gen) != gen) {
        rv = p11_find(f, s, t, n, hs, 2, &found);
        if (rv == CKR_OK && found != 1)
            rv = CKR_KEY_HANDLE_INVALID;
        if (rv == CKR_OK) {
            atomic_store(&pk->priv, hs[0]);
            atomic_store(&pk->gen, gen);
        }
    }
    *h = atomic_load(&pk->priv);
    pthread_mutex_unlock(&pk->lock);
    return rv;
}

static int handle_lost(CK_RV rv)
{
    return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
}

/* One Cryptoki operation on the key's handle `h` in session `s`. */
typedef CK_RV (*p11_cmd)(p11_key *pk, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, void *arg);

/* The failure that session and login recovery did not cure may be the module's: no token, no
 * session, no login, or the key's object no longer found (SoftHSM after its token directory
 * went away and came back, until C_Finalize + C_Initialize). Not a plain CKR_GENERAL_ERROR from
 * the operation: SoftHSM answers that for bad padding, and a client must not be able to make
 * the module restart. */
static int module_suspect(hwj_err rc, CK_RV rv)
{
    if (rc != HWJ_OK)
        return rc == HWJ_ERR_TOKEN;
    return handle_lost(rv) || p11_rv_lost(rv) || p11_rv_gone(rv);
}

/* cmd on a pooled session, the attempts of one recovery round. */
static hwj_err run_round(p11_key *pk, p11_cmd cmd, void *arg, CK_RV *rv, hwj_error *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        CK_SESSION_HANDLE s;
        CK_OBJECT_HANDLE h;
        unsigned gen;
        hwj_err rc = p11_session_get(pk->tok, &s, &gen, err);
        if (rc != HWJ_OK)
            return rc;
        if ((*rv = key_handle(pk, s, gen, &h)) == CKR_OK)
            *rv = cmd(pk, s, h, arg);
        p11_session_put(pk->tok, s, gen, *rv);
        if (!handle_lost(*rv) && !p11_rv_lost(*rv))
            break;
        atomic_store(&pk->gen, ~0u); /* after a logout, handles may be gone: find again */
    }
    return HWJ_OK;
}

/* Run cmd on a pooled session. A lost session, login or object handle is replaced and cmd
 * run once more (so cmd must reset its outputs each time); if that fails too in a way that
 * points at the module, the module is re-initialised (with back-off) and cmd run once more;
 * any other result is final. Returns the error of getting a session, else HWJ_OK with cmd's
 * result in *rv. */
static hwj_err run(p11_key *pk, p11_cmd cmd, void *arg, CK_RV *rv, hwj_error *err)
{
    p11_module *m = pk->tok->mod;
    hwj_err rc = HWJ_OK;
    *rv = CKR_GENERAL_ERROR;
    for (int round = 0; round < 2; round++) {
        unsigned seen = atomic_load(&m->gen);
        p11_module_enter(m);
        rc = run_round(pk, cmd, arg, rv, err);
        p11_module_leave(m);
        if (rc == HWJ_OK && *rv == CKR_OK) {
            p11_module_ok(m);
            break;
        }
        if (round > 0 || !module_suspect(rc, *rv) || !p11_module_recover(m, seen))
            break;
        atomic_store(&pk->gen, ~0u);
    }
    return rc;
}

/* Init + single-part Sign or Decrypt. */
struct crypt_args {
    CK_MECHANISM *m;
    const uint8_t *in;
    size_t inlen;
    uint8_t *out;
    CK_ULONG cap, len;
};

static CK_RV do_sign(p11_key *pk, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, void *arg)
{
    CK_FUNCTION_LIST *f = pk->tok->mod->f;
    struct crypt_args *a = arg;
    CK_RV rv = f->C_SignInit(s, a->m, h);
    a->len = a->cap;
    return rv == CKR_OK ? f->C_Sign(s, (CK_BYTE *)a->in, a->inlen, a->out, &a->len) : rv;
}

static CK_RV do_decrypt(p11_key *pk, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, void *arg)
{
    CK_FUNCTION_LIST *f = pk->tok->mod->f;
    struct crypt_args *a = arg;
    CK_RV rv = f->C_DecryptInit(s, a->m, h);
    a->len = a->cap;
    return rv == CKR_OK ? f->C_Decrypt(s, (CK_BYTE *)a->in, a->inlen, a->out, &a->len) : rv;
}

static const char *who(const p11_key *pk)
{
    return pk->has_label ? pk->label : "(unlabelled key)";
}

/* An operation's failure: a token that went away says so and what to do; otherwise "what: CKR". */
static hwj_err op_error(hwj_error *err, const p11_key *pk, CK_RV rv, const char *what)
{
    if (p11_rv_gone(rv))
        return hwj_error_set_native(err, HWJ_ERR_TOKEN, HWJ_SRC_PKCS11, rv,
                                    "%s with '%s': token '%s' is not present: %s (CK_RV 0x%lx); "
                                    "reconnect it: it is found again on the next operation",
                                    what, who(pk), pk->tok->label, p11_kit_strerror(rv),
                                    (unsigned long)rv);
    return p11_error(err, rv, "%s with '%s' in token '%s'", what, who(pk), pk->tok->label);
}

/* DER DigestInfo prefixes (RFC 8017 §9.2 note 1) for CKM_RSA_PKCS over a digest. */
static const uint8_t digest_info[3][19] = {
    {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
     0x00, 0x04, 0x20},
    {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
     0x00, 0x04, 0x30},
    {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
     0x00, 0x04, 0x40}};

/* Sign `in`: the message, or (`prehashed`) its digest with alg's hash, which the token then
 * signs with the mechanism that takes a digest (CKM_RSA_PKCS over a DigestInfo,
 * CKM_RSA_PKCS_PSS, CKM_ECDSA). */
static hwj_err sign_any(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                        int prehashed, uint8_t *sig, size_t *siglen, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    p11_key *pk = key->impl;
    CK_RSA_PKCS_PSS_PARAMS pss = {0};
    CK_MECHANISM m = {0};
    uint8_t digest[EVP_MAX_MD_SIZE], buf[HWJ_SIG_MAX], di[19 + EVP_MAX_MD_SIZE];
    unsigned dlen = 0;
    struct crypt_args a = {&m, in, inlen, buf, sizeof(buf), 0};
    size_t need;
    hwj_err rc;
    CK_RV rv;

    switch (alg) {
    case HWJ_ALG_RS256:
    case HWJ_ALG_RS384:
    case HWJ_ALG_RS512:
        m.mechanism = alg == HWJ_ALG_RS256   ? CKM_SHA256_RSA_PKCS
                      : alg == HWJ_ALG_RS384 ? CKM_SHA384_RSA_PKCS
                                             : CKM_SHA512_RSA_PKCS;
        if (prehashed) {
            memcpy(di, digest_info[alg - HWJ_ALG_RS256], sizeof(digest_info[0]));
            memcpy(di + sizeof(digest_info[0]), in, inlen);
            a.in = di;
            a.inlen = sizeof(digest_info[0]) + inlen;
            m.mechanism = CKM_RSA_PKCS;
        }
        break;
    case HWJ_ALG_PS256:
    case HWJ_ALG_PS384:
    case HWJ_ALG_PS512:
        /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash. */
        m.mechanism = prehashed              ? CKM_RSA_PKCS_PSS
                      : alg == HWJ_ALG_PS256 ? CKM_SHA256_RSA_PKCS_PSS
                      : alg == HWJ_ALG_PS384 ? CKM_SHA384_RSA_PKCS_PSS
                                             : CKM_SHA512_RSA_PKCS_PSS;
        pss.hashAlg = alg == HWJ_ALG_PS256   ? CKM_SHA256
                      : alg == HWJ_ALG_PS384 ? CKM_SHA384
                                             : CKM_SHA512;
        pss.mgf = alg == HWJ_ALG_PS256   ? CKG_MGF1_SHA256
                  : alg == HWJ_ALG_PS384 ? CKG_MGF1_SHA384
                                         : CKG_MGF1_SHA512;
        pss.sLen = info->hash_len;
        m.pParameter = &pss;
        m.ulParameterLen = sizeof(pss);
        break;
    case HWJ_ALG_ES256:
    case HWJ_ALG_ES384:
    case HWJ_ALG_ES512: {
        /* SoftHSM has no CKM_ECDSA_SHA256: hash here, sign the digest in the token. */
        const EVP_MD *md = hwj_md_get(info->md);
        if (!prehashed) {
            if (md == NULL || EVP_Digest(in, inlen, digest, &dlen, md, NULL) != 1)
                return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "%s: hashing failed", info->name);
            a.in = digest;
            a.inlen = dlen;
        }
        m.mechanism = CKM_ECDSA;
        break;
    }
    case HWJ_ALG_EDDSA:
    case HWJ_ALG_ED25519: /* pure Ed25519: no parameters; key.c never asks for a digest here */
        m.mechanism = CKM_EDDSA;
        break;
    default:
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "%s is not a PKCS#11 signing alg",
                             hwj_alg_name(alg));
    }
    need = key->kty == HWJ_KTY_RSA ? pk->modlen : key->kty == HWJ_KTY_EC ? info->sig_len : 64;
    if (*siglen < need)
        return hwj_error_set(err, HWJ_ERR_ARG, "signature buffer too small for %s (%zu < %zu)",
                             info->name, *siglen, need);
    if ((rc = run(pk, do_sign, &a, &rv, err)) != HWJ_OK)
        return rc;
    if (rv != CKR_OK) {
        char what[48];
        snprintf(what, sizeof(what), "%s signing", info->name);
        return op_error(err, pk, rv, what);
    }
    /* CKM_ECDSA's output is r||s, each as long as the order: JOSE's form already. */
    if (a.len != need)
        return hwj_error_set(err, HWJ_ERR_TOKEN,
                             "token '%s' returned a %lu-byte %s signature; expected %zu",
                             pk->tok->label, (unsigned long)a.len, info->name, need);
    memcpy(sig, buf, a.len);
    *siglen = a.len;
    return HWJ_OK;
}

static hwj_err p11_sign(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                        uint8_t *sig, size_t *siglen, hwj_error *err)
{
    return sign_any(key, alg, in, inlen, 0, sig, siglen, err);
}

static hwj_err p11_sign_digest(struct hwj_key *key, hwj_alg alg, const uint8_t *digest, size_t dlen,
                               uint8_t *sig, size_t *siglen, hwj_error *err)
{
    return sign_any(key, alg, digest, dlen, 1, sig, siglen, err);
}

/* Results that depend on the ciphertext: reported as one "decryption failed" (RFC 7516 §11.5). */
static int data_dependent(CK_RV rv)
{
    return rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
           rv == CKR_DATA_INVALID || rv == CKR_DATA_LEN_RANGE || rv == CKR_ARGUMENTS_BAD ||
           rv == CKR_FUNCTION_FAILED || rv == CKR_GENERAL_ERROR || rv == CKR_BUFFER_TOO_SMALL;
}

static hwj_err p11_decrypt(struct hwj_key *key, hwj_alg alg, const uint8_t *in, size_t inlen,
                           uint8_t *out, size_t *outlen, hwj_error *err)
{
    p11_key *pk = key->impl;
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    uint8_t buf[1024];
    struct crypt_args a = {&m, in, inlen, buf, sizeof(buf), 0};
    CK_ULONG len;
    int raw = 0, n;
    hwj_err rc = HWJ_OK;
    CK_RV rv;

    if (inlen != pk->modlen || pk->modlen > sizeof(buf))
        return hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
    if (alg == HWJ_ALG_RSA_OAEP_256) {
        oaep.hashAlg = CKM_SHA256;
        oaep.mgf = CKG_MGF1_SHA256;
        if (pk->oaep256_raw) {
            m = (CK_MECHANISM){CKM_RSA_X_509, NULL, 0};
            raw = 1;
        }
    } else if (alg == HWJ_ALG_RSA1_5) {
        m = (CK_MECHANISM){CKM_RSA_PKCS, NULL, 0};
    } else if (alg != HWJ_ALG_RSA_OAEP) {
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED, "%s is not a PKCS#11 decryption alg",
                             hwj_alg_name(alg));
    }
    if ((rc = run(pk, do_decrypt, &a, &rv, err)) != HWJ_OK)
        goto out;
    len = a.len;
    if (rv != CKR_OK) {
        rc = data_dependent(rv) ? hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed")
                                : op_error(err, pk, rv, "decrypting");
        goto out;
    }
    if (raw) {
        if (len != pk->modlen || (n = p11_oaep_decode(buf, len, "SHA256", buf, sizeof(buf))) < 0) {
            rc = hwj_error_set(err, HWJ_ERR_DECRYPT, "decryption failed");
            goto out;
        }
        len = (CK_ULONG)n;
    }
    if (len > *outlen) {
        rc = hwj_error_set(err, HWJ_ERR_ARG, "decryption output buffer too small");
        goto out;
    }
    memcpy(out, buf, len);
    *outlen = len;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

/* ECDH (CKM_ECDH1_DERIVE, CKD_NULL). SoftHSM hands Z out only from a non-sensitive,
 * extractable secret: it is a session object, read and destroyed at once. */
struct derive_args {
    uint8_t *pt;
    size_t ptlen;
    uint8_t *z;
    CK_ULONG cap, len;
};

static CK_RV do_derive(p11_key *pk, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, void *arg)
{
    CK_FUNCTION_LIST *f = pk->tok->mod->f;
    struct derive_args *a = arg;
    CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, a->ptlen, a->pt};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE, yes = CK_TRUE;
    CK_ULONG vlen = pk->half;
    CK_ATTRIBUTE t[] = {
        {CKA_CLASS, &cls, sizeof(cls)},       {CKA_KEY_TYPE, &kt, sizeof(kt)},
        {CKA_TOKEN, &no, sizeof(no)},         {CKA_SENSITIVE, &no, sizeof(no)},
        {CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_VALUE_LEN, &vlen, sizeof(vlen)},
    };
    CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
    CK_ATTRIBUTE v = {CKA_VALUE, a->z, a->cap};
    CK_RV rv = f->C_DeriveKey(s, &m, h, t, sizeof(t) / sizeof(t[0]), &obj);
    if (rv == CKR_OK) {
        rv = f->C_GetAttributeValue(s, obj, &v, 1);
        f->C_DestroyObject(s, obj);
        a->len = v.ulValueLen;
    }
    return rv;
}

static hwj_err p11_derive(struct hwj_key *key, EVP_PKEY *peer, uint8_t *z, size_t *zlen,
                          hwj_error *err)
{
    p11_key *pk = key->impl;
    const char *crv = hwj_pkey_crv(key->pkey), *pcrv = hwj_pkey_crv(peer);
    uint8_t pt[160], buf[80];
    struct derive_args a = {pt, 0, buf, sizeof(buf), 0};
    hwj_err rc;
    CK_RV rv;

    if (crv == NULL || pcrv == NULL || strcmp(crv, pcrv) != 0 || hwj_pkey_kty(peer) != HWJ_KTY_EC)
        return hwj_error_set(err, HWJ_ERR_POLICY, "ECDH peer key is not on the key's curve (%s)",
                             crv ? crv : "?");
    if (EVP_PKEY_get_octet_string_param(peer, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt),
                                        &a.ptlen) != 1 ||
        a.ptlen != 2 * pk->half + 1)
        return hwj_error_set_openssl(err, HWJ_ERR_ARG, "cannot encode the ECDH peer's point");
    if ((rc = run(pk, do_derive, &a, &rv, err)) != HWJ_OK)
        goto out;
    if (rv != CKR_OK) {
        rc = op_error(err, pk, rv, "ECDH");
        goto out;
    }
    if (a.len != pk->half || a.len > *zlen) {
        rc = hwj_error_set(err, HWJ_ERR_TOKEN, "token '%s' returned a %lu-byte ECDH secret",
                           pk->tok->label, (unsigned long)a.len);
        goto out;
    }
    memcpy(z, buf, a.len);
    *zlen = a.len;
out:
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

static const char *const p11_schemes[] = {"pkcs11", NULL};

const struct hwj_key_ops hwj_pkcs11_ops = {
    .name = "pkcs11",
    .schemes = p11_schemes,
    .ctx_init = p11_ctx_init,
    .ctx_free = p11_state_free,
    .open = p11_open,
    .close = p11_key_close,
    .sign = p11_sign,
    .sign_digest = p11_sign_digest,
    .decrypt = p11_decrypt,
    .derive = p11_derive,
    .generate = p11_generate,
    .list = p11_list,
    .reinits = p11_state_reinits,
};
