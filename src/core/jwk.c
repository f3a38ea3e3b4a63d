/* jwk.c: strict JWK import (RFC 7517, RFC 7518 §6, RFC 8037 §2) into struct hwj_jwk, and
 * the hwj_jwk object API. Parsing text and files is in jwk_parse.c, export and thumbprints
 * in jwk_export.c, use checks in jwk_check.c. Every key that leaves here has been validated: EC
 * points are on their curve, coordinates have their exact length, private parts match the public
 * ones. */
#include "core/jwk.h"

#include "core/b64url.h"
#include "core/error.h"
#include "core/json.h"
#include "core/roca.h"
#include "core/pkey_prep.h"

#include <hwjose/jws.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7518 §3.3/§4.2: 2048 bits or larger. The upper bound keeps a hostile JWKS from
 * costing seconds per key. */
#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 16384
/* An HMAC or AES key longer than this is a mistake (or an attack), not a key. */
#define OCT_MAX_LEN 1024
#define KEY_OPS_MAX 16

/* A decoded base64url member; `n` bytes at `p` (wiped on release). */
typedef struct bytes {
    uint8_t *p;
    size_t n;
} bytes;

static void bytes_release(bytes *b)
{
    hwj_free_secret(b->p, b->n);
    b->p = NULL;
    b->n = 0;
}

/* Member `name` as base64url-decoded bytes; absent → b->p NULL. */
static hwj_err get_b64(const json_t *obj, const char *name, bytes *b, hwj_error *err)
{
    char what[48];
    json_t *v = json_object_get(obj, name);
    b->p = NULL;
    b->n = 0;
    if (v == NULL)
        return HWJ_OK;
    if (!json_is_string(v))
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWK member \"%s\" must be a base64url string",
                             name);
    snprintf(what, sizeof(what), "JWK member \"%s\"", name);
    return hwj_b64url_decode(json_string_value(v), json_string_length(v), &b->p, &b->n, what, err);
}

static hwj_err get_b64_required(const json_t *obj, const char *name, const char *kty, bytes *b,
                                hwj_error *err)
{
    hwj_err rc = get_b64(obj, name, b, err);
    if (rc == HWJ_OK && b->p == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s JWK is missing the \"%s\" member", kty, name);
    return rc;
}

/* A Base64urlUInt (RFC 7518 §2): non-empty, minimal (no leading zero octet). Optional
 * members are private ones: held in secure BIGNUMs, so that OSSL_PARAM_BLD keeps them in
 * memory that OSSL_PARAM_free wipes. */
static hwj_err get_uint(const json_t *obj, const char *name, int required, BIGNUM **bn,
                        hwj_error *err)
{
    bytes b;
    hwj_err rc =
        required ? get_b64_required(obj, name, "RSA", &b, err) : get_b64(obj, name, &b, err);
    *bn = NULL;
    if (rc != HWJ_OK || b.p == NULL)
        return rc;
    if (b.n == 0 || b.p[0] == 0)
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "JWK member \"%s\" is not a minimal unsigned integer (empty or with a "
                           "leading zero octet; RFC 7518 §2)",
                           name);
    else if ((*bn = required ? BN_new() : BN_secure_new()) == NULL ||
             BN_bin2bn(b.p, (int)b.n, *bn) == NULL)
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
    bytes_release(&b);
    return rc;
}

/* EVP_PKEY_fromdata of `type` with the built parameters. */
static hwj_err from_params(const char *type, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **out,
                           const char *fail, hwj_error *err)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = NULL;
    hwj_err rc = HWJ_OK;

    if (params == NULL || (ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL ||
        EVP_PKEY_fromdata_init(ctx) != 1) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "cannot import a %s key", type);
        goto out;
    }
    if (EVP_PKEY_fromdata(ctx, out, selection, params) != 1)
        rc = hwj_error_set_openssl(err, HWJ_ERR_PARSE, "%s", fail);
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params); /* private parts came from secure BIGNUMs: wiped */
    return rc;
}

/* Run OpenSSL's key checks: `full` checks the private part against the public one. */
static hwj_err check_pkey(EVP_PKEY *pkey, int full, const char *fail, hwj_error *err)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    int ok;
    if (ctx == NULL)
        return hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
    ok = full ? EVP_PKEY_pairwise_check(ctx) : EVP_PKEY_public_check(ctx);
    EVP_PKEY_CTX_free(ctx);
    if (ok != 1) {
        ERR_clear_error();
        return hwj_error_set(err, HWJ_ERR_PARSE, "%s", fail);
    }
    return HWJ_OK;
}

static const char *const rsa_priv_members[] = {"d", "p", "q", "dp", "dq", "qi"};
static const char *const rsa_priv_params[] = {
    OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,   OSSL_PKEY_PARAM_RSA_FACTOR2,
    OSSL_PKEY_PARAM_RSA_EXPONENT1, OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1};
#define RSA_NPRIV 6

static hwj_err rsa_from_json(const json_t *obj, hwj_jwk *jwk, hwj_error *err)
{
    BIGNUM *n = NULL, *e = NULL, *priv[RSA_NPRIV] = {NULL};
    OSSL_PARAM_BLD *bld = NULL;
    size_t npriv = 0;
    int bits;
    hwj_err rc;

    if ((rc = get_uint(obj, "n", 1, &n, err)) != HWJ_OK ||
        (rc = get_uint(obj, "e", 1, &e, err)) != HWJ_OK)
        goto out;
    bits = BN_num_bits(n);
    if (bits < RSA_MIN_BITS) {
        rc = hwj_error_set(err, HWJ_ERR_POLICY,
                           "RSA JWK has a %d-bit modulus; JOSE requires at least %d bits "
                           "(RFC 7518 §3.3); generate a larger key",
                           bits, RSA_MIN_BITS);
        goto out;
    }
    if (bits > RSA_MAX_BITS) {
        rc = hwj_error_set(err, HWJ_ERR_LIMIT, "RSA JWK has a %d-bit modulus; at most %d allowed",
                           bits, RSA_MAX_BITS);
        goto out;
    }
    if (!BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 256 ||
        BN_cmp(e, n) >= 0) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE,
                           "RSA JWK: \"n\" and \"e\" are not a valid RSA "
                           "public key");
        goto out;
    }
    if ((jwk->roca = hwj_roca_bn(n)) < 0) {
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (json_object_get(obj, "oth") != NULL) {
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                           "RSA JWK with \"oth\" (more than two primes) is not supported");
        goto out;
    }
    for (size_t i = 0; i < RSA_NPRIV; i++) {
        if ((rc = get_uint(obj, rsa_priv_members[i], 0, &priv[i], err)) != HWJ_OK)
            goto out;
        npriv += priv[i] != NULL;
    }
    if (npriv != 0 && npriv != RSA_NPRIV) {
        rc = priv[0] == NULL
                 ? hwj_error_set(err, HWJ_ERR_PARSE, "RSA JWK has private members but no \"d\"")
                 : hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                                 "RSA private JWK must carry all of \"d\", \"p\", \"q\", \"dp\", "
                                 "\"dq\", \"qi\" (a key with \"d\" alone is not supported)");
        goto out;
    }
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e)) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < npriv; i++)
        if (!OSSL_PARAM_BLD_push_BN(bld, rsa_priv_params[i], priv[i])) {
            rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
            goto out;
        }
    if ((rc = from_params("RSA", npriv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, &jwk->pkey,
                          "RSA JWK: not a valid RSA key", err)) != HWJ_OK)
        goto out;
    if (npriv && (rc = check_pkey(jwk->pkey, 1,
                                  "RSA private JWK: \"d\", \"p\", \"q\", \"dp\", \"dq\", \"qi\" "
                                  "are inconsistent with \"n\" and \"e\"",
                                  err)) != HWJ_OK)
        goto out;
    jwk->is_private = npriv != 0;
out:
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < RSA_NPRIV; i++)
        BN_clear_free(priv[i]);
    BN_free(e);
    BN_free(n);
    return rc;
}

static const struct curve {
    const char *jwk;  /* JOSE name */
    const char *ossl; /* OpenSSL group */
    size_t len;       /* coordinate and scalar octets */
} curves[] = {{"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};

/* Member `name` of exactly `len` octets (RFC 7518 §6.2.1.2, RFC 8037 §2). */
static hwj_err get_fixed(const json_t *obj, const char *name, const char *crv, size_t len,
                         int required, bytes *b, hwj_error *err)
{
    hwj_err rc = required ? get_b64_required(obj, name, crv, b, err) : get_b64(obj, name, b, err);
    if (rc == HWJ_OK && b->p != NULL && b->n != len) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "%s JWK member \"%s\" must be %zu octets, not %zu",
                           crv, name, len, b->n);
        bytes_release(b);
    }
    return rc;
}

static hwj_err ec_from_json(const json_t *obj, const char *crv, hwj_jwk *jwk, hwj_error *err)
{
    const struct curve *c = NULL;
    bytes x = {0}, y = {0}, d = {0};
    uint8_t pub[1 + 2 * 66];
    BIGNUM *priv = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    char fail[96];
    hwj_err rc;

    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        if (strcmp(crv, curves[i].jwk) == 0)
            c = &curves[i];
    if (c == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "EC JWK curve \"%.32s\" is not supported; use P-256, P-384 or P-521",
                             crv);
    if ((rc = get_fixed(obj, "x", c->jwk, c->len, 1, &x, err)) != HWJ_OK ||
        (rc = get_fixed(obj, "y", c->jwk, c->len, 1, &y, err)) != HWJ_OK ||
        (rc = get_fixed(obj, "d", c->jwk, c->len, 0, &d, err)) != HWJ_OK)
        goto out;
    pub[0] = 0x04; /* uncompressed point */
    memcpy(pub + 1, x.p, c->len);
    memcpy(pub + 1 + c->len, y.p, c->len);
    if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->ossl, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * c->len) ||
        (d.p != NULL &&
         ((priv = BN_secure_new()) == NULL || BN_bin2bn(d.p, (int)d.n, priv) == NULL ||
          !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(fail, sizeof(fail), "EC JWK: \"x\", \"y\" are not a point on %s", c->jwk);
    if ((rc = from_params("EC", d.p ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, &jwk->pkey, fail,
                          err)) != HWJ_OK ||
        (rc = check_pkey(jwk->pkey, 0, fail, err)) != HWJ_OK)
        goto out;
    if (d.p != NULL &&
        (rc = check_pkey(jwk->pkey, 1, "EC private JWK: \"d\" does not match \"x\", \"y\"", err)) !=
            HWJ_OK)
        goto out;
    jwk->is_private = d.p != NULL;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(priv);
    bytes_release(&d);
    bytes_release(&y);
    bytes_release(&x);
    return rc;
}

/* The small-order points of Curve25519 / edwards25519 as 32-byte encodings, bit 255 ignored
 * (libsodium's block lists). An Ed25519 key of small order verifies R = identity, S = 0 for
 * every message; an X25519 one makes every shared secret all zeros. Neither is a key. */
static int okp_small_order(const uint8_t *x, int ed)
{
    static const uint8_t common[5][32] = {
        {0}, /* 0 */
        {1}, /* 1 */
        {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p - 1 */
        {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p */
        {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, /* p + 1 */
    };
    static const uint8_t order8[2][2][32] = {
        {/* X25519 u */
         {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
          0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
          0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
         {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
          0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
          0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57}},
        {/* Ed25519 y */
         {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4,
          0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6,
          0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
         {0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b,
          0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39,
          0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a}},
    };
    uint8_t v[32];
    int hit = 0;
    memcpy(v, x, 32);
    v[31] &= 0x7f;
    for (size_t i = 0; i < 5; i++)
        hit |= memcmp(v, common[i], 32) == 0;
    for (size_t i = 0; i < 2; i++)
        hit |= memcmp(v, order8[ed][i], 32) == 0;
    return hit;
}

/* RFC 8032 §5.1.3: an Ed25519 encoding whose y (bit 255 cleared) is >= p = 2^255 - 19 does
 * not decode. (X25519 is different: RFC 7748 §5 has u reduced mod p.) */
static int ed25519_noncanonical(const uint8_t *x)
{
    int high = (x[31] & 0x7f) == 0x7f && x[0] >= 0xed;
    for (size_t i = 1; i < 31; i++)
        high &= x[i] == 0xff;
    return high;
}

static hwj_err okp_from_json(const json_t *obj, const char *crv, hwj_jwk *jwk, hwj_error *err)
{
    const char *type = strcmp(crv, "Ed25519") == 0  ? "ED25519"
                       : strcmp(crv, "X25519") == 0 ? "X25519"
                                                    : NULL;
    bytes x = {0}, d = {0};
    uint8_t derived[32];
    size_t dlen = sizeof(derived);
    EVP_PKEY *pkey = NULL;
    hwj_err rc;

    if (type == NULL)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "OKP JWK curve \"%.32s\" is not supported; use Ed25519 or X25519",
                             crv);
    if ((rc = get_fixed(obj, "x", crv, 32, 1, &x, err)) != HWJ_OK ||
        (rc = get_fixed(obj, "d", crv, 32, 0, &d, err)) != HWJ_OK)
        goto out;
    if (okp_small_order(x.p, type[0] == 'E')) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "%s JWK: \"x\" is a point of small order", crv);
        goto out;
    }
    if (type[0] == 'E' && ed25519_noncanonical(x.p)) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "%s JWK: \"x\" is not a canonical encoding", crv);
        goto out;
    }
    if (d.p == NULL) {
        if ((pkey = EVP_PKEY_new_raw_public_key_ex(NULL, type, NULL, x.p, x.n)) == NULL)
            rc = hwj_error_set_openssl(err, HWJ_ERR_PARSE, "%s JWK: invalid \"x\"", crv);
        goto out;
    }
    /* Import d alone and compare the public key it yields with x. */
    if ((pkey = EVP_PKEY_new_raw_private_key_ex(NULL, type, NULL, d.p, d.n)) == NULL ||
        EVP_PKEY_get_raw_public_key(pkey, derived, &dlen) != 1 || dlen != x.n) {
        rc = hwj_error_set_openssl(err, HWJ_ERR_PARSE, "%s JWK: invalid \"d\"", crv);
        goto out;
    }
    if (CRYPTO_memcmp(derived, x.p, x.n) != 0) {
        rc = hwj_error_set(err, HWJ_ERR_PARSE, "%s private JWK: \"d\" does not match \"x\"", crv);
        goto out;
    }
    jwk->is_private = 1;
out:
    if (rc == HWJ_OK)
        jwk->pkey = pkey;
    else
        EVP_PKEY_free(pkey);
    bytes_release(&d);
    bytes_release(&x);
    return rc;
}

static hwj_err oct_from_json(const json_t *obj, hwj_jwk *jwk, hwj_error *err)
{
    bytes k;
    hwj_err rc = get_b64_required(obj, "k", "oct", &k, err);
    if (rc != HWJ_OK)
        return rc;
    if (k.n == 0 || k.n > OCT_MAX_LEN) {
        rc = hwj_error_set(err, k.n ? HWJ_ERR_LIMIT : HWJ_ERR_PARSE,
                           "oct JWK: \"k\" must be 1 to %d octets, not %zu", OCT_MAX_LEN, k.n);
        bytes_release(&k);
        return rc;
    }
    jwk->secret = k.p;
    jwk->secret_len = k.n;
    jwk->is_private = 1;
    return HWJ_OK;
}

static const struct {
    const char *name;
    hwj_key_op op;
} key_op_names[] = {{"sign", HWJ_OP_SIGN},        {"verify", HWJ_OP_VERIFY},
                    {"encrypt", HWJ_OP_ENCRYPT},  {"decrypt", HWJ_OP_DECRYPT},
                    {"wrapKey", HWJ_OP_WRAP},     {"unwrapKey", HWJ_OP_UNWRAP},
                    {"deriveKey", HWJ_OP_DERIVE}, {"deriveBits", HWJ_OP_DERIVE}};

#define OP_BIT(op) (1u << (unsigned)(op))
#define SIG_OPS (OP_BIT(HWJ_OP_SIGN) | OP_BIT(HWJ_OP_VERIFY))

/* "key_ops": an array of unique strings. Bit 0 marks "present" (ops start at 1), so an
 * empty array permits nothing rather than everything. Unknown values grant nothing. */
static hwj_err parse_key_ops(const json_t *obj, unsigned *out, hwj_error *err)
{
    json_t *arr = json_object_get(obj, "key_ops");
    size_t n;
    unsigned bits = 1u;
    *out = 0;
    if (arr == NULL)
        return HWJ_OK;
    if (!json_is_array(arr))
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWK member \"key_ops\" must be an array");
    if ((n = json_array_size(arr)) > KEY_OPS_MAX)
        return hwj_error_set(err, HWJ_ERR_LIMIT, "JWK \"key_ops\" has more than %d entries",
                             KEY_OPS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            return hwj_error_set(err, HWJ_ERR_PARSE, "JWK \"key_ops\" entries must be strings");
        for (size_t j = 0; j < i; j++)
            if (json_equal(v, json_array_get(arr, j)))
                return hwj_error_set(err, HWJ_ERR_PARSE,
                                     "JWK \"key_ops\" lists \"%.32s\" twice (RFC 7517 §4.3)",
                                     json_string_value(v));
        for (size_t k = 0; k < sizeof(key_op_names) / sizeof(key_op_names[0]); k++)
            if (strcmp(json_string_value(v), key_op_names[k].name) == 0)
                bits |= OP_BIT(key_op_names[k].op);
    }
    *out = bits;
    return HWJ_OK;
}

static hwj_err dup_string(const char *s, char **out, hwj_error *err)
{
    if (s != NULL && (*out = strdup(s)) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    return HWJ_OK;
}

/* kid, use, alg, key_ops: the members every kty shares. */
static hwj_err common_from_json(const json_t *obj, hwj_jwk *jwk, hwj_error *err)
{
    const char *kid = NULL, *use = NULL, *alg = NULL;
    hwj_err rc;
    if ((rc = hwj_json_get_string(obj, "kid", "JWK", &kid, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(obj, "use", "JWK", &use, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(obj, "alg", "JWK", &alg, err)) != HWJ_OK ||
        (rc = parse_key_ops(obj, &jwk->key_ops, err)) != HWJ_OK)
        return rc;
    if (alg != NULL && (jwk->alg = hwj_alg_from_name(alg)) == HWJ_ALG_UNKNOWN)
        return hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                             "JWK \"alg\" \"%.32s\" is not a supported algorithm", alg);
    /* RFC 7517 §4.3: "use" and "key_ops" together must agree. */
    if (use != NULL && jwk->key_ops != 0) {
        unsigned ops = jwk->key_ops & ~1u;
        if ((strcmp(use, "sig") == 0 && (ops & ~SIG_OPS) != 0) ||
            (strcmp(use, "enc") == 0 && (ops & SIG_OPS) != 0))
            return hwj_error_set(err, HWJ_ERR_PARSE,
                                 "JWK \"use\" \"%s\" contradicts its \"key_ops\"", use);
    }
    if ((rc = dup_string(kid, &jwk->kid, err)) != HWJ_OK ||
        (rc = dup_string(use, &jwk->use, err)) != HWJ_OK)
        return rc;
    return HWJ_OK;
}

hwj_err hwj_jwk_from_json(const json_t *obj, hwj_jwk **out, hwj_error *err)
{
    const char *kty = NULL, *crv = NULL;
    hwj_jwk *jwk = NULL;
    hwj_err rc;

    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_jwk_from_json: out is NULL");
    if (!json_is_object(obj))
        return hwj_error_set(err, HWJ_ERR_PARSE, "a JWK must be a JSON object");
    if ((rc = hwj_json_get_string(obj, "kty", "JWK", &kty, err)) != HWJ_OK ||
        (rc = hwj_json_get_string(obj, "crv", "JWK", &crv, err)) != HWJ_OK)
        return rc;
    if (kty == NULL)
        return hwj_error_set(err, HWJ_ERR_PARSE, "JWK is missing the \"kty\" member");
    if ((jwk = calloc(1, sizeof(*jwk))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if ((rc = common_from_json(obj, jwk, err)) != HWJ_OK)
        goto out;
    if (strcmp(kty, "RSA") == 0) {
        jwk->kty = HWJ_KTY_RSA;
        rc = rsa_from_json(obj, jwk, err);
    } else if (strcmp(kty, "oct") == 0) {
        jwk->kty = HWJ_KTY_OCT;
        rc = oct_from_json(obj, jwk, err);
    } else if (strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0) {
        jwk->kty = kty[0] == 'E' ? HWJ_KTY_EC : HWJ_KTY_OKP;
        if (crv == NULL)
            rc = hwj_error_set(err, HWJ_ERR_PARSE, "%s JWK is missing the \"crv\" member", kty);
        else
            rc = jwk->kty == HWJ_KTY_EC ? ec_from_json(obj, crv, jwk, err)
                                        : okp_from_json(obj, crv, jwk, err);
    } else {
        rc = hwj_error_set(err, HWJ_ERR_UNSUPPORTED,
                           "JWK \"kty\" \"%.32s\" is not supported; use RSA, EC, OKP or oct", kty);
    }
out:
    if (rc != HWJ_OK) {
        hwj_jwk_free(jwk);
        return rc;
    }
    *out = jwk;
    return HWJ_OK;
}

HWJ_EXPORT void hwj_jwk_free(hwj_jwk *jwk)
{
    if (jwk == NULL)
        return;
    hwj_pkey_prep_free(jwk->prep);
    EVP_PKEY_free(jwk->pkey);
    hwj_free_secret(jwk->secret, jwk->secret_len);
    free(jwk->kid);
    free(jwk->use);
    free(jwk);
}

HWJ_EXPORT hwj_kty hwj_jwk_get_kty(const hwj_jwk *jwk)
{
    return jwk ? jwk->kty : HWJ_KTY_NONE;
}
HWJ_EXPORT const char *hwj_jwk_get0_kid(const hwj_jwk *jwk)
{
    return jwk ? jwk->kid : NULL;
}
HWJ_EXPORT hwj_alg hwj_jwk_get_alg(const hwj_jwk *jwk)
{
    return jwk ? jwk->alg : HWJ_ALG_UNKNOWN;
}
HWJ_EXPORT int hwj_jwk_is_private(const hwj_jwk *jwk)
{
    return jwk ? jwk->is_private : 0;
}
HWJ_EXPORT int hwj_jwk_is_roca(const hwj_jwk *jwk)
{
    return jwk != NULL && jwk->roca;
}

HWJ_EXPORT EVP_PKEY *hwj_jwk_get0_pkey(const hwj_jwk *jwk)
{
    return jwk ? jwk->pkey : NULL;
}
