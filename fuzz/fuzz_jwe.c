/* fuzz_jwe: JWE compact, general and flattened JSON, parse + decrypt (RFC 7516) with every
 * kind of key: RSA (RSA-OAEP, RSA-OAEP-256, RSA1_5 opted in), EC P-256 (ECDH-ES*), oct keys of
 * 16 and 32 bytes (A*KW, A*GCMKW, dir) and a PBES2 password with p2c capped at FZ_MAX_P2C.
 * Each key gets the input in turn, with an allow-list of the algs it fits. Invariants: a
 * failure returns no result; a success names an allowed alg and enc and a
 * NUL-terminated plaintext. */
#include "common.h"

#include <stdlib.h>

static const hwj_alg rsa_algs[] = {HWJ_ALG_RSA_OAEP, HWJ_ALG_RSA_OAEP_256, HWJ_ALG_RSA1_5};
static const hwj_alg ec_algs[] = {HWJ_ALG_ECDH_ES, HWJ_ALG_ECDH_ES_A128KW, HWJ_ALG_ECDH_ES_A192KW,
                                  HWJ_ALG_ECDH_ES_A256KW};
static const hwj_alg oct_algs[] = {HWJ_ALG_A128KW,    HWJ_ALG_A192KW,    HWJ_ALG_A256KW,
                                   HWJ_ALG_A128GCMKW, HWJ_ALG_A192GCMKW, HWJ_ALG_A256GCMKW,
                                   HWJ_ALG_DIR};
static const hwj_alg pbes2_algs[] = {HWJ_ALG_PBES2_HS256_A128KW, HWJ_ALG_PBES2_HS384_A192KW,
                                     HWJ_ALG_PBES2_HS512_A256KW};
static const char *const crit[] = {"exp"};

static void try(const uint8_t *data, size_t size, hwj_jwe_decrypt_opts *o)
{
    hwj_error err = {0};
    hwj_jwe_result *res = NULL;
    o->encs = fz_encs;
    o->nencs = fz_nencs;
    o->crit = crit;
    o->ncrit = 1;
    o->max_size = 64 * 1024;
    o->max_p2c = FZ_MAX_P2C;
    o->max_inflated = 256 * 1024;
    o->allow_rsa1_5 = 1;
    o->allow_json = 1; /* the corpus holds every serialization */
    hwj_err rc = hwj_jwe_decrypt((const char *)data, size, o, &res, &err);
    fz_report(hwj_alg_name(o->algs[0]), rc, &err);
    if (rc != HWJ_OK) {
        if (res || err.code != rc)
            abort();
        return;
    }
    int alg_ok = 0, enc_ok = 0;
    for (size_t i = 0; i < o->nalgs; i++)
        alg_ok |= o->algs[i] == res->alg;
    for (size_t i = 0; i < fz_nencs; i++)
        enc_ok |= fz_encs[i] == res->enc;
    if (!alg_ok || !enc_ok || !res->protected_json || !res->header_json ||
        (res->plaintext_len && !res->plaintext) ||
        (res->plaintext && res->plaintext[res->plaintext_len] != '\0'))
        abort();
    hwj_jwe_result_free(res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hwj_jwe_decrypt_opts o = {
        .size = sizeof(hwj_jwe_decrypt_opts), .algs = rsa_algs, .nalgs = 3, .key = fz_key_rsa()};
    try(data, size, &o);
    o = (hwj_jwe_decrypt_opts){
        .size = sizeof(hwj_jwe_decrypt_opts), .algs = ec_algs, .nalgs = 4, .key = fz_key_p256()};
    try(data, size, &o);
    o = (hwj_jwe_decrypt_opts){
        .size = sizeof(hwj_jwe_decrypt_opts), .algs = oct_algs, .nalgs = 7, .jwk = fz_oct16()};
    try(data, size, &o);
    o = (hwj_jwe_decrypt_opts){
        .size = sizeof(hwj_jwe_decrypt_opts), .algs = oct_algs, .nalgs = 7, .jwk = fz_oct32()};
    try(data, size, &o);
    o = (hwj_jwe_decrypt_opts){.size = sizeof(hwj_jwe_decrypt_opts),
                               .algs = pbes2_algs,
                               .nalgs = 3,
                               .password = FZ_PASSWORD,
                               .password_len = sizeof(FZ_PASSWORD) - 1};
    try(data, size, &o);
    return 0;
}
