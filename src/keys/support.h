/* support.h: helpers the backends share beside the provider contract (custody.c, pin.c).
 * Nothing outside src/keys/ includes this file. */
#ifndef HWJ_KEYS_SUPPORT_H
#define HWJ_KEYS_SUPPORT_H

#include "keys/provider.h"

/* The algs a public key type can serve (before asking the token). */
uint64_t hwj_key_algs_for_pkey(EVP_PKEY *pkey);

/*
 * The PIN for a key, first found of: the URI's pin-source (file:PATH, as RFC 7512),
 * opts->pin, $HWJOSE_PIN. *pin is NULL if none (then the backend tries without).
 * Free with hwj_free_secret(pin, strlen(pin)). A pin-value in the URI is refused.
 */
hwj_err hwj_pin_resolve(const char *pin_source, const hwj_key_open_opts *opts, char **pin,
                        hwj_error *err);

/* Describe a probed key for a key listing (hwj_keys_list): add "kid" (RFC 7638), "kty",
 * "bits" or "crv", "algs", "alg" and "use" when bound, "custody" and "notes" to `o`. HWJ_ERR_NOMEM
 * on failure. */
hwj_err hwj_key_describe(const struct hwj_key *key, json_t *o);

/* The alg the key is bound to: the one it was made or labelled for (key->alg), else the only one
 * the key and its token can perform; HWJ_ALG_UNKNOWN when it serves several. keygen, jwks, the
 * key listing and the service publish "alg" and "use" from this, so they agree. */
hwj_alg hwj_key_bound_alg(const struct hwj_key *key);

/* Append to custody.notes, "; "-separated. */
void hwj_custody_note(hwj_custody *c, const char *fmt, ...) HWJ_PRINTF(2, 3);

#endif
