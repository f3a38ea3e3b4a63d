/* tpm2_internal.h: shared by the TPM 2.0 backend's files (tpm2*.c) only. */
#ifndef HWJ_KEYS_TPM2_INTERNAL_H
#define HWJ_KEYS_TPM2_INTERNAL_H

#include "keys/support.h"

#include <pthread.h>
#include <tss2/tss2_esys.h>

/* ---- tpm2_uri.c ---- */

/* A parsed tpm2: URI. Exactly one of handle / file is set (except for `tpm2:` alone,
 * which names a TPM for listing). */
typedef struct tpm2_uri {
    TPM2_HANDLE handle; /* persistent handle (0x81xxxxxx), 0 if none */
    char *file;         /* TSS2 PRIVATE KEY PEM path */
    char *tcti;         /* ?tcti=..., NULL → $HWJOSE_TCTI → the TSS default */
    char *auth_source;  /* ?auth-source=file:PATH (as pkcs11's pin-source) */
} tpm2_uri;

/* Parse `tpm2:handle=0x81000010` / `tpm2:file=PATH`, attributes separated by ';', query
 * (tcti, auth-source; also pin-source as an alias) after '?' separated by '&',
 * %-encoding honoured. `allow_empty` accepts `tpm2:` with neither handle nor file. */
hwj_err tpm2_uri_parse(const char *uri, int allow_empty, tpm2_uri *out, hwj_error *err);
void tpm2_uri_clear(tpm2_uri *u);

/* ---- tpm2_keyfile.c ---- */

/* The contents of a TSS2 PRIVATE KEY file (OID 2.23.133.10.1.3, loadable key). */
typedef struct tpm2_keyfile {
    int empty_auth;
    TPM2_HANDLE parent; /* TPM2_RH_OWNER (0x40000001): the standard storage primary */
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
} tpm2_keyfile;

hwj_err tpm2_keyfile_read(const char *path, tpm2_keyfile *kf, hwj_error *err);
/* Write atomically (temp file + link, mode 0600); fails if `path` exists. */
hwj_err tpm2_keyfile_write(const char *path, const tpm2_keyfile *kf, hwj_error *err);

/* ---- tpm2_esys.c: connections and objects ---- */

/* A transient object we may load into the TPM: a key or the storage primary. When the TPM
 * runs out of object slots (TPM_RC_OBJECT_MEMORY), the least recently used one is
 * context-saved and flushed, and loaded back from its saved context when next needed. */
typedef struct tpm2_obj {
    ESYS_TR tr;          /* loaded handle, or ESYS_TR_NONE */
    TPMS_CONTEXT *saved; /* Esys_ContextSave blob, or NULL */
    unsigned gen;        /* connection generation that tr/saved belong to */
    uint64_t last_use;
    struct tpm2_obj *next; /* in the connection's list */
    struct tpm2_obj *prev;
} tpm2_obj;

/* One ESAPI context per TCTI, shared by every key opened through it in the process.
 * ESAPI is not thread-safe: every use holds `lock`. */
typedef struct tpm2_conn {
    pthread_mutex_t lock;
    char *tcti;              /* the configuration string used, "" for the TSS default */
    TSS2_TCTI_CONTEXT *tctx; /* NULL while disconnected */
    ESYS_CONTEXT *esys;
    unsigned gen;     /* bumped at each (re)connect: older handles are void */
    uint64_t clock;   /* LRU clock */
    tpm2_obj primary; /* the storage primary under the owner hierarchy */
    tpm2_obj *objs;   /* loaded-or-saved objects (primary included once made) */
    int refs;
    struct tpm2_conn *next_conn;
} tpm2_conn;

/* How a key is loaded: from its key file under its parent, or by persistent handle. */
typedef struct tpm2_keyimpl {
    tpm2_conn *conn;
    tpm2_obj obj;           /* file keys only */
    TPM2_HANDLE persistent; /* 0 for a file key */
    ESYS_TR ptr;            /* persistent: ESYS_TR from Esys_TR_FromTPMPublic */
    unsigned pgen;
    tpm2_keyfile kf; /* file keys: what Esys_Load needs */
    TPM2B_PUBLIC pub;
    TPM2B_AUTH auth; /* wiped on close */
} tpm2_keyimpl;

/* The connection for `tcti` (NULL → $HWJOSE_TCTI → default), new or shared; connects. */
/* Turn tpm2-tss's own stderr logging off (unless TSS2_LOG is set) before its first use. */
void tpm2_tss_quiet(void);
hwj_err tpm2_conn_get(const char *tcti, tpm2_conn **out, hwj_error *err);
void tpm2_conn_put(tpm2_conn *c);

/* With c->lock held: connect if disconnected (after a failure or a TPM restart). */
hwj_err tpm2_conn_ensure(tpm2_conn *c, hwj_error *err);
/* With c->lock held: drop the connection after a transport error; objects reload later. */
void tpm2_conn_drop(tpm2_conn *c);
/* 1 if rc says the TPM went away (TCTI I/O, no connection), so that reconnecting may help. */
int tpm2_rc_is_transport(TSS2_RC rc);
/* 1 if rc says a handle we hold no longer refers to a loaded object (TPM reset under us). */
int tpm2_rc_is_stale_handle(TSS2_RC rc);

/* With c->lock held: the ESYS_TR of the key, loading it (and its parent) if needed. */
hwj_err tpm2_key_handle(tpm2_keyimpl *k, const char *uri, ESYS_TR *tr, hwj_error *err);
/* Forget a key's object (on close): flush it if loaded. With c->lock held. */
void tpm2_key_unload(tpm2_keyimpl *k);
/* With c->lock held: make a new key under the storage primary (Esys_Create). */
hwj_err tpm2_create(tpm2_conn *c, const TPM2B_PUBLIC *tmpl, const TPM2B_AUTH *auth,
                    TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, hwj_error *err);
/* Make a persistent copy of a loaded key (tr, its object `keep`) at `handle`. Lock held. */
hwj_err tpm2_persist(tpm2_conn *c, ESYS_TR tr, const tpm2_obj *keep, TPM2_HANDLE handle,
                     hwj_error *err);
/* With c->lock held: free a TPM object slot by context-saving and flushing the least
 * recently used of our loaded objects other than keep1/keep2. 0 if none could go. Any
 * command that answers TPM_RC_OBJECT_MEMORY is retried after this. */
int tpm2_evict_one(tpm2_conn *c, const tpm2_obj *keep1, const tpm2_obj *keep2);

/* Set err from a TSS2_RC: "<what> failed: <Tss2_RC_Decode> (0x...)" plus a hint, mapped
 * to TOKEN / AUTH / CAPABILITY / KEY_NOT_FOUND as the code says. */
hwj_err tpm2_error(hwj_error *err, TSS2_RC rc, const tpm2_conn *c, const char *fmt, ...)
    HWJ_PRINTF(4, 5);

/* ---- tpm2_pub.c: TPM2B_PUBLIC → EVP_PKEY, can-mask, custody ---- */
hwj_err tpm2_pub_to_pkey(const TPMT_PUBLIC *p, EVP_PKEY **out, hwj_error *err);
/* Fill key->pkey, kty, can, custody from the public area. */
hwj_err tpm2_describe(const TPMT_PUBLIC *p, struct hwj_key *key, hwj_error *err);

/* ---- the ops (tpm2.c, tpm2_keygen.c) ---- */
hwj_err tpm2_open(void *state, const char *uri, const hwj_key_open_opts *opts, struct hwj_key *key,
                  hwj_error *err);
hwj_err tpm2_keygen(void *state, const char *uri, const hwj_keygen_opts *opts, struct hwj_key *key,
                    hwj_error *err);
hwj_err tpm2_list(void *state, const char *uri, const hwj_key_open_opts *opts, json_t *list,
                  hwj_error *err);

/* The TPM hash alg for a JOSE alg's digest (SHA-256/384/512), TPM2_ALG_NULL if none. */
TPMI_ALG_HASH tpm2_hash_for(hwj_alg alg);

#endif
