/* jwk_check.c: may this JWK be used for this alg and operation? (RFC 7517 §4.2–4.4,
 * RFC 7518 §3.2, RFC 8725 §3.1: the key decides the alg, never the token.) */
#include "core/alg.h"
#include "core/error.h"
#include "core/jwk.h"
#include "core/pkey_prep.h"

#include <string.h>

static int is_sig_op(hwj_key_op op)
{
    return op == HWJ_OP_SIGN || op == HWJ_OP_VERIFY;
}

static const char *op_name(hwj_key_op op)
{
    switch (op) {
    case HWJ_OP_SIGN: return "sign";
    case HWJ_OP_VERIFY: return "verify";
    case HWJ_OP_ENCRYPT: return "encrypt";
    case HWJ_OP_DECRYPT: return "decrypt";
    case HWJ_OP_WRAP: return "wrapKey";
    case HWJ_OP_UNWRAP: return "unwrapKey";
    case HWJ_OP_DERIVE: return "deriveKey";
    }
    return "?";
}

/* Read from the key's prep: a provider query per check would cost every verification. */
static const char *jwk_crv(const hwj_jwk *jwk)
{
    const hwj_pkey_prep *prep = hwj_jwk_prep(jwk);
    const char *crv = prep != NULL ? hwj_pkey_prep_crv(prep)
                      : jwk->pkey  ? hwj_pkey_crv(jwk->pkey)
                                   : NULL;
    return crv ? crv : "";
}

/* Does the key's type (and curve, and length) fit `alg`? */
static hwj_err type_fits(const hwj_jwk *jwk, hwj_alg alg, const hwj_alg_info *info, hwj_error *err)
{
    const char *kty = hwj_kty_name(jwk->kty) ? hwj_kty_name(jwk->kty) : "?";
    const char *crv = jwk_crv(jwk);
    int ecdh = alg >= HWJ_ALG_ECDH_ES && alg <= HWJ_ALG_ECDH_ES_A256KW;
    int pbes2 = alg >= HWJ_ALG_PBES2_HS256_A128KW && alg <= HWJ_ALG_PBES2_HS512_A256KW;
    hwj_kty want = ecdh && jwk->kty == HWJ_KTY_OKP           ? HWJ_KTY_OKP
                   : pbes2 || info->kind == HWJ_ALG_KIND_ENC ? HWJ_KTY_OCT
                                                             : info->kty;

    if (jwk->kty != want)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an %s key, and this JWK is an %s key",
                             info->name, hwj_kty_name(want), kty);
    if (info->curve != NULL && strcmp(crv, info->curve) != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "%s needs a key on %s, and this JWK is on %s (RFC 7518 §3.4)",
                             info->name, info->curve, crv[0] ? crv : "no curve");
    if (hwj_alg_is_ed25519(alg) && strcmp(crv, "Ed25519") != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an Ed25519 key, not %s", info->name,
                             crv[0] ? crv : "this key");
    if (ecdh && jwk->kty == HWJ_KTY_OKP && strcmp(crv, "X25519") != 0)
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s needs an X25519 or EC key, not %s",
                             info->name, crv);
    if (jwk->kty != HWJ_KTY_OCT)
        return HWJ_OK;
    if (info->kind == HWJ_ALG_KIND_JWS && jwk->secret_len < info->hash_len)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the HMAC key is %zu bytes; %s needs at least %u (RFC 7518 §3.2)",
                             jwk->secret_len, info->name, info->hash_len);
    if (info->kind != HWJ_ALG_KIND_JWS && !pbes2 && alg != HWJ_ALG_DIR && info->key_bits != 0 &&
        jwk->secret_len != info->key_bits / 8)
        return hwj_error_set(err, HWJ_ERR_POLICY, "the key is %zu bytes; %s needs exactly %u",
                             jwk->secret_len, info->name, info->key_bits / 8);
    return HWJ_OK;
}

/* Do "use" and "key_ops" permit `op`? */
static hwj_err use_permits(const hwj_jwk *jwk, hwj_key_op op, hwj_error *err)
{
    if (jwk->use != NULL) {
        int ok = is_sig_op(op) ? strcmp(jwk->use, "sig") == 0 : strcmp(jwk->use, "enc") == 0;
        if (!ok)
            return hwj_error_set(err, HWJ_ERR_POLICY,
                                 "the JWK's \"use\" is \"%.16s\"; it may not %s (RFC 7517 §4.2)",
                                 jwk->use, op_name(op));
    }
    if (jwk->key_ops != 0 && !(jwk->key_ops & (1u << (unsigned)op)))
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the JWK's \"key_ops\" do not include \"%s\" (RFC 7517 §4.3)",
                             op_name(op));
    return HWJ_OK;
}

HWJ_EXPORT hwj_err hwj_jwk_check(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op, hwj_error *err)
{
    hwj_error_reset(err);
    return hwj_jwk_fits(jwk, alg, op, err);
}

hwj_err hwj_jwk_fits(const hwj_jwk *jwk, hwj_alg alg, hwj_key_op op, hwj_error *err)
{
    const hwj_alg_info *info = hwj_alg_info_get(alg);
    hwj_err rc;

    hwj_error_clear(err);
    if (jwk == NULL || info == NULL || op < HWJ_OP_SIGN || op > HWJ_OP_DERIVE)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "hwj_jwk_check: a JWK, an alg and an op are "
                             "needed");
    if ((info->kind == HWJ_ALG_KIND_JWS) != is_sig_op(op))
        return hwj_error_set(err, HWJ_ERR_POLICY, "%s is not an algorithm to %s with", info->name,
                             op_name(op));
    if (jwk->alg != HWJ_ALG_UNKNOWN && jwk->alg != alg)
        return hwj_error_set(err, HWJ_ERR_POLICY,
                             "the JWK is for \"alg\" \"%s\"; it may not be used with %s",
                             hwj_alg_name(jwk->alg), info->name);
    if ((rc = type_fits(jwk, alg, info, err)) != HWJ_OK ||
        (rc = use_permits(jwk, op, err)) != HWJ_OK)
        return rc;
    if ((op == HWJ_OP_SIGN || op == HWJ_OP_DECRYPT || op == HWJ_OP_UNWRAP) && !jwk->is_private)
        return hwj_error_set(err, HWJ_ERR_POLICY, "the JWK is a public key; it cannot %s",
                             op_name(op));
    return HWJ_OK;
}
