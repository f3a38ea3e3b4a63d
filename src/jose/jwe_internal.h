/* jwe_internal.h: the pieces of JWE shared by jwe_*.c. Not installed. */
#ifndef HWJ_JOSE_JWE_INTERNAL_H
#define HWJ_JOSE_JWE_INTERNAL_H

#include <hwjose/jwe.h>
#include <jansson.h>

#define JWE_CEK_MAX 64  /* A256CBC-HS512 */
#define JWE_IV_MAX 16   /* CBC */
#define JWE_TAG_MAX 32  /* A256CBC-HS512: half of SHA-512 */
#define JWE_EK_MAX 1024 /* RSA-8192 */
#define JWE_Z_MAX 66    /* P-521 */

/* --- jwe_content.c: content encryption (RFC 7518 §5) ------------------------- */
size_t hwj_jwe_cek_len(hwj_alg enc); /* bytes; 0 when enc is not a JWE "enc" */
size_t hwj_jwe_iv_len(hwj_alg enc);
size_t hwj_jwe_tag_len(hwj_alg enc);
/* `ct` has room for len + 16 bytes; `tag` for hwj_jwe_tag_len(enc). */
hwj_err hwj_jwe_content_encrypt(hwj_alg enc, const uint8_t *cek, const uint8_t *iv,
                                const uint8_t *aad, size_t aadlen, const uint8_t *pt, size_t len,
                                uint8_t *ct, size_t *ctlen, uint8_t *tag, hwj_error *err);
/* Sizes are checked exactly; `pt` has room for ctlen bytes. Any failure: HWJ_ERR_DECRYPT. */
hwj_err hwj_jwe_content_decrypt(hwj_alg enc, const uint8_t *cek, const uint8_t *iv, size_t ivlen,
                                const uint8_t *aad, size_t aadlen, const uint8_t *ct, size_t ctlen,
                                const uint8_t *tag, size_t taglen, uint8_t *pt, size_t *ptlen,
                                hwj_error *err);

/* --- jwe_kw.c: AES key wrap, AES-GCM key wrap, PBES2 key derivation ---------- */
hwj_err hwj_jwe_aeskw(int wrap, const uint8_t *kek, size_t keklen, const uint8_t *in, size_t len,
                      uint8_t *out, size_t *outlen, hwj_error *err);
/* AES-GCM of a key with a 96-bit iv and 128-bit tag; decrypt failures: HWJ_ERR_DECRYPT. */
hwj_err hwj_jwe_gcmkw(int wrap, const uint8_t *kek, size_t keklen, const uint8_t *iv, uint8_t *tag,
                      const uint8_t *in, size_t len, uint8_t *out, hwj_error *err);
/* PBKDF2 with salt = UTF8(alg) || 0x00 || p2s (RFC 7518 §4.8.1.1). */
hwj_err hwj_jwe_pbes2_kek(hwj_alg alg, const char *pw, size_t pwlen, const uint8_t *p2s,
                          size_t p2slen, uint32_t p2c, uint8_t *kek, size_t keklen, hwj_error *err);

/* --- jwe_ecdh.c: ECDH-ES (RFC 7518 §4.6) ------------------------------------- */
/* Concat KDF (SHA-256) through EVP_KDF "SSKDF". `algid` is the alg (KW) or enc (direct). */
hwj_err hwj_jwe_concat_kdf(const uint8_t *z, size_t zlen, const char *algid, const uint8_t *apu,
                           size_t apulen, const uint8_t *apv, size_t apvlen, uint8_t *out,
                           size_t outlen, hwj_error *err);
/* Parse "epk" into a public key that must be valid and on the same curve as `own`. */
hwj_err hwj_jwe_epk_parse(const json_t *epk, EVP_PKEY *own, EVP_PKEY **out, hwj_error *err);
/* Sender: an ephemeral key on `peer`'s curve, Z, and its public JWK as "epk". */
hwj_err hwj_jwe_epk_generate(EVP_PKEY *peer, uint8_t *z, size_t *zlen, json_t **epk,
                             hwj_error *err);

/* --- jwe_keymgmt.c: the per-recipient key management, both directions ------- */
/* The key derived or unwrapped for one recipient, from its merged header. On success
 * cek[0..ceklen) is the CEK (RSA1_5: a random one when unwrapping failed). */
hwj_err hwj_jwe_km_decrypt(hwj_alg alg, hwj_alg enc, const json_t *hdr, const uint8_t *ek,
                           size_t eklen, const hwj_jwe_decrypt_opts *opts, uint8_t *cek,
                           size_t ceklen, hwj_error *err);
/* 1 if `opts` holds a key that may serve `alg` (without trying it). */
int hwj_jwe_km_fits(hwj_alg alg, hwj_alg enc, const hwj_jwe_decrypt_opts *opts);
/* Produce the encrypted key for `r` and add its header members to `hdr`. For dir and
 * ECDH-ES the CEK is an output (set_cek), else an input. `*ek` may be NULL (empty). */
hwj_err hwj_jwe_km_encrypt(const hwj_jwe_recipient *r, hwj_alg enc, uint8_t *cek, size_t ceklen,
                           json_t *hdr, uint8_t **ek, size_t *eklen, hwj_error *err);
/* 1 for dir and ECDH-ES: the CEK comes from key management, not from random. */
int hwj_jwe_km_is_direct(hwj_alg alg);

/* --- jwe_zip.c: "zip":"DEF" ---------------------------------------------------- */
hwj_err hwj_jwe_deflate(const uint8_t *in, size_t len, uint8_t **out, size_t *outlen,
                        hwj_error *err);
/* Any failure, over max or over ratio: HWJ_ERR_DECRYPT. */
hwj_err hwj_jwe_inflate(const uint8_t *in, size_t len, size_t max, unsigned ratio, uint8_t **out,
                        size_t *outlen, hwj_error *err);

/* --- jwe_parse.c: serializations and header rules ------------------------------ */
typedef struct jwe_recipient {
    json_t *header; /* per-recipient unprotected header, or NULL */
    uint8_t *ek;    /* decoded encrypted key (NULL when empty) */
    size_t eklen;
} jwe_recipient;

typedef struct jwe_parsed {
    char *protected_b64; /* exactly as serialized ("" when absent) */
    json_t *protected;   /* decoded protected header, or NULL */
    json_t *unprotected; /* shared unprotected header, or NULL */
    char *aad_b64;       /* NULL when absent */
    uint8_t *aad;
    size_t aad_len;
    uint8_t *iv, *ct, *tag;
    size_t ivlen, ctlen, taglen;
    jwe_recipient *rcpt;
    size_t nrcpt;
    int json; /* serialized as JSON */
} jwe_parsed;

/* A JSON serialization only when `allow_json` (else HWJ_ERR_POLICY): the caller asks for it. */
hwj_err hwj_jwe_parse(const char *jwe, size_t len, int allow_json, jwe_parsed *p, hwj_error *err);
void hwj_jwe_parsed_clear(jwe_parsed *p);
/* The JOSE header of recipient i: the union of the three headers, which must be
 * disjoint. Also checks alg/enc/zip/crit types and placement. */
hwj_err hwj_jwe_header_merge(const jwe_parsed *p, size_t i, const char *const *crit, size_t ncrit,
                             json_t **out, hwj_error *err);
/* The AAD input of content encryption: ASCII(protected_b64 [|| '.' || aad_b64]). */
hwj_err hwj_jwe_aad_build(const char *protected_b64, const char *aad_b64, uint8_t **out,
                          size_t *outlen, hwj_error *err);

#endif
