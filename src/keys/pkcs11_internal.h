/*
 * pkcs11_internal.h: the PKCS#11 backend's private pieces, shared by pkcs11*.c only.
 *
 *   pkcs11_uri.c     RFC 7512 URIs through p11_kit_uri_parse; canonical URIs for listing
 *   pkcs11_token.c   modules (p11-kit loading, C_Initialize, fork re-initialisation),
 *                    tokens (one login each) and their session pools
 *   pkcs11_rv.c      what a CK_RV means (error code, retry or not); the object search
 *   pkcs11_probe.c   what a key object is and can do: public key, custody, mechanisms
 *   pkcs11.c         the ops table: open, sign, decrypt, derive
 *   pkcs11_keygen.c  generate and list
 *   pkcs11_oaep.c    constant-time OAEP decoding for the CKM_RSA_X_509 fallback
 *
 * Faults: a lost session or login is replaced and the operation retried once; a removed token
 * marks its pool dead and fails at once, and the next operation finds the token again (label
 * and serial), logs in and looks its objects up again; any other error fails the operation and
 * closes its session; a module whose keys stay lost after that is re-initialised (with back-off).
 * See docs/pkcs11.md, "Faults".
 *
 * Concurrency: a token's pool lock guards only its list of idle sessions, login state and
 * generation; no lock is held across a Cryptoki call on the hot path, so two threads sign
 * on two sessions at once. After fork() (getpid() changed) a module is re-initialised, its
 * generation bumped, and every session, login and object handle of the old generation is
 * dropped and looked up again on next use.
 */
#ifndef HWJ_KEYS_PKCS11_INTERNAL_H
#define HWJ_KEYS_PKCS11_INTERNAL_H

#include "keys/support.h"

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>
#include <pthread.h>
#include <stdatomic.h>

/* ---- URIs (pkcs11_uri.c) ---- */

typedef struct p11_uri {
    P11KitUri *uri;
    const char *module_path; /* borrowed from uri; NULL when absent */
    const char *module_name;
    const char *pin_source;
    char token[33];   /* the token= label, for messages; "" when absent */
    char object[129]; /* object= label; "" when absent */
    int has_object;
    uint8_t id[128]; /* id= bytes */
    size_t idlen;
    int has_id;
    CK_OBJECT_CLASS cls; /* type= */
    int has_cls;
} p11_uri;

/* Parse `s` (RFC 7512). Refuses pin-value and unknown query attributes. */
hwj_err p11_uri_parse(const char *s, p11_uri *u, hwj_error *err);
void p11_uri_clear(p11_uri *u);
/* "pkcs11:token=T;object=L;id=%..;type=private" (+ "?module-path=M" when M != NULL). */
char *p11_uri_for_object(const char *token, const char *label, const uint8_t *id, size_t idlen,
                         const char *module_path);

/* ---- modules, tokens, sessions (pkcs11_token.c) ---- */

typedef struct p11_module {
    struct p11_module *next;
    char *path;
    CK_FUNCTION_LIST *f;
    void *dl;             /* dlopen handle when p11-kit declined to load it (its proxy) */
    pid_t pid;            /* the process that initialised it */
    atomic_uint forks;    /* the fork count when pid was last confirmed */
    atomic_uint gen;      /* bumped on re-initialisation */
    pthread_mutex_t lock; /* serialises re-initialisation only */
    /* Held shared across an operation's Cryptoki calls and exclusively by a recovery
     * (C_Finalize + C_Initialize), which must not pull the module from under a call. */
    pthread_rwlock_t use;
    atomic_llong next_recover_ms; /* back-off: no recovery before this (monotonic ms) */
    atomic_int backoff_ms;        /* the next wait after a recovery */
    atomic_ullong reinits;        /* recoveries done (hwj_ctx_get_token_reinits) */
} p11_module;

typedef struct p11_token {
    struct p11_token *next;
    p11_module *mod;
    CK_SLOT_ID slot;
    char label[33];
    char serial[17];
    CK_FLAGS flags;
    pthread_mutex_t lock; /* guards the fields below */
    CK_SESSION_HANDLE *idle;
    size_t nidle, cap;
    unsigned gen;    /* sessions and object handles of another generation are stale */
    unsigned modgen; /* the module generation (fork count) `gen` was last checked against */
    int dead;        /* the token went away: find its slot again before the next session */
    int logged_in;
    char *pin; /* kept to log in again after a reset or fork; wiped on free */
    size_t pinlen;
    CK_MECHANISM_TYPE *mechs;
    CK_ULONG nmechs;
    int oaep256; /* -1 not probed, 0 token refuses OAEP with SHA-256, 1 works */
} p11_token;

typedef struct p11_state {
    pthread_mutex_t lock;
    p11_module *mods;
    p11_token *tokens;
} p11_state;

hwj_err p11_state_new(void **state, hwj_error *err);
void p11_state_free(void *state);
/* Module recoveries over the state's life, all modules. */
uint64_t p11_state_reinits(void *state);

/* The module at `path` (loaded and initialised once per state). */
hwj_err p11_module_get(p11_state *st, const char *path, p11_module **out, hwj_error *err);
/* The module a URI names: module-path, else $HWJOSE_PKCS11_MODULE, else SoftHSM's. */
const char *p11_module_path_for(const p11_uri *u);

/* Cryptoki calls on `m` happen between enter and leave (never nested on one thread). */
void p11_module_enter(p11_module *m);
void p11_module_leave(p11_module *m);
/* A module that keeps failing after session and login recovery (objects no longer found, no
 * session, no login: SoftHSM after its token directory went away and came back) is finalised
 * and initialised again, at most once per back-off period (100 ms doubling to 1 s, reset by a
 * success). Every token's sessions, login and object handles are then of an old generation and
 * are found again on next use. `seen` is the module generation the failing operation ran in.
 * 1 when the module is new since `seen` (retry the operation), else 0. Call outside enter. */
int p11_module_recover(p11_module *m, unsigned seen);
/* An operation succeeded: the next failure may recover at once. */
void p11_module_ok(p11_module *m);

/* The tokens of `mod` matching the URI's token attributes, up to `max`. */
hwj_err p11_tokens_match(p11_state *st, p11_module *mod, const p11_uri *u, p11_token **out,
                         size_t max, size_t *n, hwj_error *err);
/* Log in once (the URI's pin-source, opts->pin or $HWJOSE_PIN) if the token wants it. */
hwj_err p11_token_login(p11_token *t, const p11_uri *u, const hwj_key_open_opts *opts,
                        hwj_error *err);

/* A session from the pool (opened and logged in if none idle). *gen is the generation
 * the session belongs to: object handles from another generation must be found again. The
 * generation changes after fork() and after the token went away (p11_rv_gone). */
hwj_err p11_session_get(p11_token *t, CK_SESSION_HANDLE *s, unsigned *gen, hwj_error *err);
/* Return a session; `rv` is the last result on it: only a session whose last call succeeded
 * is pooled (a failed call may leave an operation active); a lost session or a gone token
 * drops the whole pool. */
void p11_session_put(p11_token *t, CK_SESSION_HANDLE s, unsigned gen, CK_RV rv);
/* 1 if the token lists `mech` with all of `flags`; fills *info when non-NULL. */
int p11_token_has_mech(p11_token *t, CK_MECHANISM_TYPE mech, CK_FLAGS flags,
                       CK_MECHANISM_INFO *info);

/* ---- Cryptoki results and object search (pkcs11_rv.c) ---- */

/* Fill err from a CK_RV: the code it maps to, the native value, and "what: CKR_X". */
hwj_err p11_error(hwj_error *err, CK_RV rv, const char *fmt, ...) HWJ_PRINTF(3, 4);
/* 1 if rv says the session or login is gone (retry once on a fresh session). */
int p11_rv_lost(CK_RV rv);
/* 1 if rv says the token itself is gone (removed, not present): no retry; the pool is dropped,
 * and the next p11_session_get looks for the token again (same label and serial). */
int p11_rv_gone(CK_RV rv);

/* Find up to `max` objects matching the n attributes of `tmpl` on session s (the
 * C_FindObjectsInit/C_FindObjects/C_FindObjectsFinal triple); *found is 0 on failure. */
CK_RV p11_find(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *tmpl, CK_ULONG n,
               CK_OBJECT_HANDLE *hs, CK_ULONG max, CK_ULONG *found);

/* ---- keys (pkcs11_probe.c, pkcs11.c) ---- */

typedef struct p11_key {
    p11_token *tok;
    pthread_mutex_t lock; /* guards re-finding the handle */
    atomic_ulong priv;    /* CK_OBJECT_HANDLE of the private key */
    atomic_uint gen;      /* the generation `priv` belongs to */
    CK_KEY_TYPE type;
    uint8_t id[128];
    size_t idlen;
    char label[129];
    int has_label;
    size_t half;     /* EC: bytes per coordinate */
    size_t modlen;   /* RSA: modulus bytes */
    int oaep256_raw; /* RSA-OAEP-256 through CKM_RSA_X_509 + host unpadding */
} p11_key;

/* Describe the private key `h` found on session `s`: fill key->pkey, kty, can, custody and
 * pk's identity. On failure nothing is left allocated in key. */
hwj_err p11_probe_key(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, struct hwj_key *key,
                      p11_key *pk, hwj_error *err);
/* Find the single private key the URI names on the token. */
hwj_err p11_find_private(p11_token *t, CK_SESSION_HANDLE s, const p11_uri *u, CK_OBJECT_HANDLE *h,
                         hwj_error *err);
/* Read one attribute into a new buffer (free with free()); CKR_* on failure. */
CK_RV p11_attr_get(CK_FUNCTION_LIST *f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                   CK_ATTRIBUTE_TYPE type, uint8_t **val, CK_ULONG *len);
/* Curve of a CKA_EC_PARAMS value: "P-256", "P-384", "P-521", "Ed25519" (OID or the
 * printable string "edwards25519", as SoftHSM stores it), or NULL. */
const char *p11_curve_of_params(const uint8_t *p, size_t len);

/* Open a key from an already-found handle (shared by open and generate). */
hwj_err p11_key_attach(p11_token *t, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, unsigned gen,
                       struct hwj_key *key, hwj_error *err);
void p11_key_close(struct hwj_key *key);

/* The single token a URI names (pkcs11.c); errors say how to list tokens. */
hwj_err p11_one_token(p11_state *st, const p11_uri *u, p11_token **t, hwj_error *err);

/* ---- generate and list (pkcs11_keygen.c) ---- */
hwj_err p11_generate(void *state, const char *uri, const hwj_keygen_opts *opts, struct hwj_key *key,
                     hwj_error *err);
hwj_err p11_list(void *state, const char *uri, const hwj_key_open_opts *opts, json_t *list,
                 hwj_error *err);

/* ---- OAEP decoding (pkcs11_oaep.c) ---- */

/* EME-OAEP decode (RFC 8017 §7.1.2) of the k-byte `em` with `md` for hash and MGF1 and an
 * empty label, in constant time. Returns the message length, or -1 (one error for every
 * failure: no padding oracle). */
int p11_oaep_decode(const uint8_t *em, size_t k, const char *md, uint8_t *out, size_t outcap);

extern const struct hwj_key_ops hwj_pkcs11_ops;

#endif
