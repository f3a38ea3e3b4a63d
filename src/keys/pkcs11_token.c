/* pkcs11_token.c: modules, tokens, logins and session pools (see pkcs11_internal.h). */
#include "keys/pkcs11_internal.h"

#include "core/error.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

/* Idle sessions kept per token; more concurrent operations open more, then close them. */
#define POOL_MAX 64
/* Module recovery back-off: the first at once, then 100 ms doubling to 1 s (a token that came
 * back serves again within about a second; one that stays gone costs one re-init a second). */
#define RECOVER_MIN_MS 100
#define RECOVER_MAX_MS 1000

/* ---- the PIN: kept off the heap's dumpable pages ---- */

static char *pin_store(const char *pin, size_t *len)
{
    size_t n = strlen(pin);
    long page = sysconf(_SC_PAGESIZE);
    size_t sz = page > 0 ? (size_t)page : 4096;
    if (n + 1 > sz)
        return NULL;
    char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    (void)madvise(p, sz, MADV_DONTDUMP); /* never in a core dump */
    (void)mlock(p, sz);                  /* never in swap (best effort) */
    memcpy(p, pin, n + 1);
    *len = n;
    return p;
}

static void pin_wipe(p11_token *t)
{
    if (t->pin == NULL)
        return;
    long page = sysconf(_SC_PAGESIZE);
    OPENSSL_cleanse(t->pin, t->pinlen);
    munmap(t->pin, page > 0 ? (size_t)page : 4096);
    t->pin = NULL;
    t->pinlen = 0;
}

/* ---- loading ---- */

/* p11-kit refuses to load its own proxy as a module (it is meant for applications, which is
 * what we are): open it, and any module p11-kit declines, with dlopen. */
static CK_FUNCTION_LIST *load_direct(const char *path, void **dl)
{
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST *f = NULL;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return NULL;
    *(void **)&get = dlsym(h, "C_GetFunctionList");
    if (get == NULL || get(&f) != CKR_OK || f == NULL) {
        dlclose(h);
        return NULL;
    }
    *dl = h;
    return f;
}

static void module_release(p11_module *m)
{
    if (m->dl != NULL)
        dlclose(m->dl);
    else
        p11_kit_module_release(m->f);
}

/* ---- state ---- */

hwj_err p11_state_new(void **state, hwj_error *err)
{
    p11_state *st = calloc(1, sizeof(*st));
    if (st == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&st->lock, NULL);
    *state = st;
    return HWJ_OK;
}

void p11_state_free(void *state)
{
    p11_state *st = state;
    if (st == NULL)
        return;
    while (st->tokens != NULL) {
        p11_token *t = st->tokens;
        st->tokens = t->next;
        if (t->mod->pid == getpid() && t->modgen == atomic_load(&t->mod->gen))
            for (size_t i = 0; i < t->nidle; i++)
                t->mod->f->C_CloseSession(t->idle[i]);
        free(t->idle);
        free(t->mechs);
        pin_wipe(t);
        pthread_mutex_destroy(&t->lock);
        free(t);
    }
    while (st->mods != NULL) {
        p11_module *m = st->mods;
        st->mods = m->next;
        if (m->pid == getpid())
            m->f->C_Finalize(NULL);
        module_release(m);
        pthread_rwlock_destroy(&m->use);
        pthread_mutex_destroy(&m->lock);
        free(m->path);
        free(m);
    }
    pthread_mutex_destroy(&st->lock);
    free(st);
}

uint64_t p11_state_reinits(void *state)
{
    p11_state *st = state;
    uint64_t n = 0;
    pthread_mutex_lock(&st->lock);
    for (p11_module *m = st->mods; m != NULL; m = m->next)
        n += atomic_load(&m->reinits);
    pthread_mutex_unlock(&st->lock);
    return n;
}

/* ---- modules ---- */

/* Forks seen by this process, counted by an atfork handler: the hot path compares a
 * number instead of calling getpid() (a system call) on every operation. */
static atomic_uint forks;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    atomic_fetch_add(&forks, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, count_fork);
}

const char *p11_module_path_for(const p11_uri *u)
{
    const char *env = getenv("HWJOSE_PKCS11_MODULE");
    if (u->module_path != NULL)
        return u->module_path;
    if (env != NULL && *env != '\0')
        return env;
    return HWJ_SOFTHSM_MODULE;
}

static CK_RV module_initialize(CK_FUNCTION_LIST *f)
{
    /* Threads use the OS's locks; no callbacks of ours. */
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    /* A module that uses OpenSSL itself may leave errors in this thread's queue (SoftHSM's
     * C_Initialize looks for the rdrand engine and pushes four "could not load the shared
     * library" errors): they are the module's, not our caller's, whose own later failure
     * would otherwise be reported as that first, unrelated error (tls.key in the service). */
    ERR_set_mark();
    CK_RV rv = f->C_Initialize(&args);
    ERR_pop_to_mark();
    return rv;
}

hwj_err p11_module_get(p11_state *st, const char *path, p11_module **out, hwj_error *err)
{
    p11_module *m;
    hwj_err rc = HWJ_OK;
    CK_RV rv;

    pthread_mutex_lock(&st->lock);
    for (m = st->mods; m != NULL; m = m->next)
        if (strcmp(m->path, path) == 0)
            goto done;
    if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
        free(m);
        m = NULL;
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Managed by p11-kit: other users of the same module in this process keep their own
     * initialisation and sessions. */
    if ((m->f = p11_kit_module_load(path, 0)) == NULL)
        m->f = load_direct(path, &m->dl);
    if (m->f == NULL) {
        rc = hwj_error_set(err, HWJ_ERR_TOKEN,
                           "cannot load the PKCS#11 module '%s' (%s); install it or name "
                           "another with ?module-path= or HWJOSE_PKCS11_MODULE",
                           path, p11_kit_message() ? p11_kit_message() : "dlopen failed");
        goto fail;
    }
    if ((rv = module_initialize(m->f)) != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        rc = p11_error(err, rv, "initialising the PKCS#11 module '%s'", path);
        module_release(m);
        goto fail;
    }
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_init(&m->lock, NULL);
    /* Writer first: under steady load readers never all leave at once. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&m->use, &ra);
    pthread_rwlockattr_destroy(&ra);
    atomic_store(&m->backoff_ms, RECOVER_MIN_MS);
    m->pid = getpid();
    atomic_store(&m->forks, atomic_load(&forks));
    m->next = st->mods;
    st->mods = m;
    goto done;
fail:
    free(m->path);
    free(m);
    m = NULL;
done:
    pthread_mutex_unlock(&st->lock);
    if (m != NULL)
        *out = m;
    return rc;
}

/* In a child after fork(), Cryptoki must be initialised again (PKCS#11 v2.40 §6.7.7). */
static hwj_err module_check_fork(p11_module *m, hwj_error *err)
{
    hwj_err rc = HWJ_OK;
    if (atomic_load(&m->forks) == atomic_load(&forks))
        return HWJ_OK;
    if (__atomic_load_n(&m->pid, __ATOMIC_ACQUIRE) == getpid()) {
        atomic_store(&m->forks, atomic_load(&forks)); /* a fork elsewhere; not us */
        return HWJ_OK;
    }
    pthread_mutex_lock(&m->lock);
    if (m->pid != getpid()) {
        CK_RV rv = module_initialize(m->f);
        if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
            m->f->C_Finalize(NULL);
            rv = module_initialize(m->f);
        }
        if (rv != CKR_OK) {
            rc =
                p11_error(err, rv, "re-initialising the PKCS#11 module '%s' after fork()", m->path);
        } else {
            atomic_fetch_add(&m->gen, 1);
            __atomic_store_n(&m->pid, getpid(), __ATOMIC_RELEASE);
            atomic_store(&m->forks, atomic_load(&forks));
        }
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void p11_module_enter(p11_module *m)
{
    pthread_rwlock_rdlock(&m->use);
}

void p11_module_leave(p11_module *m)
{
    pthread_rwlock_unlock(&m->use);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int p11_module_recover(p11_module *m, unsigned seen)
{
    int fresh = 0;
    if (atomic_load(&m->gen) != seen)
        return 1; /* another thread has just done it */
    if (now_ms() < atomic_load(&m->next_recover_ms))
        return 0;
    /* Waits for every call in flight; bounded, as a reader that forked away (its count left in
     * a child's copy of the lock) would never leave. */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    if (pthread_rwlock_timedwrlock(&m->use, &until) != 0)
        return 0;
    pthread_mutex_lock(&m->lock);
    if (atomic_load(&m->gen) != seen) {
        fresh = 1;
    } else if (now_ms() >= atomic_load(&m->next_recover_ms) && m->pid == getpid()) {
        m->f->C_Finalize(NULL); /* closes every session of ours */
        fresh = module_initialize(m->f) == CKR_OK;
        atomic_fetch_add(&m->gen, 1); /* even on failure: the old handles are gone */
        atomic_fetch_add(&m->reinits, 1);
        int b = atomic_load(&m->backoff_ms);
        atomic_store(&m->next_recover_ms, now_ms() + b);
        atomic_store(&m->backoff_ms, b * 2 < RECOVER_MAX_MS ? b * 2 : RECOVER_MAX_MS);
    }
    pthread_mutex_unlock(&m->lock);
    pthread_rwlock_unlock(&m->use);
    return fresh;
}

void p11_module_ok(p11_module *m)
{
    if (atomic_load_explicit(&m->backoff_ms, memory_order_relaxed) != RECOVER_MIN_MS)
        atomic_store(&m->backoff_ms, RECOVER_MIN_MS);
}

/* ---- tokens ---- */

static void trim(char *dst, const unsigned char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
    while (n > 0 && dst[n - 1] == ' ')
        dst[--n] = '\0';
}

static hwj_err token_for(p11_state *st, p11_module *m, CK_SLOT_ID slot, const CK_TOKEN_INFO *ti,
                         p11_token **out, hwj_error *err)
{
    char serial[17];
    p11_token *t;
    trim(serial, ti->serialNumber, 16);
    pthread_mutex_lock(&st->lock);
    for (t = st->tokens; t != NULL; t = t->next)
        if (t->mod == m && t->slot == slot && strcmp(t->serial, serial) == 0)
            break;
    if (t == NULL && (t = calloc(1, sizeof(*t))) != NULL) {
        t->mod = m;
        t->slot = slot;
        memcpy(t->serial, serial, sizeof(serial));
        trim(t->label, ti->label, 32);
        t->flags = ti->flags;
        t->oaep256 = -1;
        t->modgen = atomic_load(&m->gen);
        pthread_mutex_init(&t->lock, NULL);
        t->next = st->tokens;
        st->tokens = t;
    }
    pthread_mutex_unlock(&st->lock);
    if (t == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    *out = t;
    return HWJ_OK;
}

static hwj_err tokens_match(p11_state *st, p11_module *m, const p11_uri *u, p11_token **out,
                            size_t max, size_t *n, hwj_error *err)
{
    CK_SLOT_ID *slots = NULL;
    CK_ULONG count = 0;
    CK_SLOT_ID want = p11_kit_uri_get_slot_id(u->uri);
    hwj_err rc;
    CK_RV rv;

    *n = 0;
    if ((rc = module_check_fork(m, err)) != HWJ_OK)
        return rc;
    if ((rv = m->f->C_GetSlotList(CK_TRUE, NULL, &count)) != CKR_OK)
        return p11_error(err, rv, "listing the slots of '%s'", m->path);
    if (count > 0 && (slots = calloc(count, sizeof(*slots))) == NULL)
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory");
    if (count > 0 && (rv = m->f->C_GetSlotList(CK_TRUE, slots, &count)) != CKR_OK) {
        free(slots);
        return p11_error(err, rv, "listing the slots of '%s'", m->path);
    }
    rc = HWJ_OK;
    for (CK_ULONG i = 0; i < count && *n < max; i++) {
        CK_TOKEN_INFO ti;
        CK_SLOT_INFO si;
        if (want != (CK_SLOT_ID)-1 && slots[i] != want)
            continue;
        if (m->f->C_GetSlotInfo(slots[i], &si) != CKR_OK ||
            !p11_kit_uri_match_slot_info(u->uri, &si))
            continue;
        if (m->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED) ||
            !p11_kit_uri_match_token_info(u->uri, &ti))
            continue;
        if ((rc = token_for(st, m, slots[i], &ti, &out[*n], err)) != HWJ_OK)
            break;
        (*n)++;
    }
    free(slots);
    return rc;
}

hwj_err p11_tokens_match(p11_state *st, p11_module *m, const p11_uri *u, p11_token **out,
                         size_t max, size_t *n, hwj_error *err)
{
    p11_module_enter(m);
    hwj_err rc = tokens_match(st, m, u, out, max, n, err);
    p11_module_leave(m);
    return rc;
}

/* Log in on session s. Called with t->lock held. */
static hwj_err login_locked(p11_token *t, CK_SESSION_HANDLE s, hwj_error *err)
{
    CK_RV rv = t->mod->f->C_Login(s, CKU_USER, (CK_UTF8CHAR *)t->pin, t->pinlen);
    if (rv == CKR_OK || rv == CKR_USER_ALREADY_LOGGED_IN) {
        t->logged_in = 1;
        return HWJ_OK;
    }
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED || rv == CKR_PIN_LEN_RANGE ||
        rv == CKR_PIN_EXPIRED)
        pin_wipe(t); /* never try a rejected PIN twice: tokens lock after a few */
    if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
        return hwj_error_set_native(err, HWJ_ERR_AUTH, HWJ_SRC_PKCS11, rv,
                                    "PIN rejected by token '%s'; check pin-source / HWJOSE_PIN "
                                    "(a few more wrong PINs lock the token)",
                                    t->label);
    if (rv == CKR_PIN_LOCKED)
        return hwj_error_set_native(err, HWJ_ERR_AUTH, HWJ_SRC_PKCS11, rv,
                                    "the user PIN of token '%s' is locked; the security officer "
                                    "must reset it (softhsm2-util/pkcs11-tool --init-pin)",
                                    t->label);
    return p11_error(err, rv, "logging in to token '%s'", t->label);
}

hwj_err p11_token_login(p11_token *t, const p11_uri *u, const hwj_key_open_opts *opts,
                        hwj_error *err)
{
    CK_SESSION_HANDLE s;
    unsigned gen;
    char *pin = NULL;
    hwj_err rc;
    int done;

    if (!(t->flags & CKF_LOGIN_REQUIRED))
        return HWJ_OK;
    pthread_mutex_lock(&t->lock);
    done = t->pin != NULL || (t->logged_in && t->modgen == atomic_load(&t->mod->gen));
    pthread_mutex_unlock(&t->lock);
    if (done)
        return HWJ_OK;
    if ((rc = hwj_pin_resolve(u->pin_source, opts, &pin, err)) != HWJ_OK)
        return rc;
    if (pin == NULL)
        return hwj_error_set(err, HWJ_ERR_AUTH,
                             "token '%s' needs the user PIN; add ?pin-source=file:PATH to the key "
                             "URI or set HWJOSE_PIN",
                             t->label);
    pthread_mutex_lock(&t->lock);
    if (t->pin == NULL && (t->pin = pin_store(pin, &t->pinlen)) == NULL)
        rc = hwj_error_set(err, HWJ_ERR_NOMEM, "cannot store the PIN in locked memory");
    pthread_mutex_unlock(&t->lock);
    hwj_free_secret(pin, strlen(pin));
    if (rc != HWJ_OK)
        return rc;
    /* A fresh session logs in with the stored PIN. */
    if ((rc = p11_session_get(t, &s, &gen, err)) != HWJ_OK)
        return rc;
    p11_session_put(t, s, gen, CKR_OK);
    return HWJ_OK;
}

/* ---- sessions ---- */

/* The token went away (rv from a call on a session of generation `gen`): drop the pool, make
 * every session and object handle of this generation stale, and look for the token again on
 * the next p11_session_get. */
static void token_gone(p11_token *t, unsigned gen)
{
    CK_SESSION_HANDLE drop[POOL_MAX];
    size_t ndrop = 0;

    pthread_mutex_lock(&t->lock);
    if (gen == t->gen) {
        memcpy(drop, t->idle, t->nidle * sizeof(*drop));
        ndrop = t->nidle;
        t->nidle = 0;
        t->logged_in = 0;
        t->dead = 1;
        t->gen++;
    }
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < ndrop; i++)
        t->mod->f->C_CloseSession(drop[i]); /* usually fails: the token is gone */
}

static hwj_err gone_error(p11_token *t, CK_RV rv, hwj_error *err)
{
    return hwj_error_set_native(err, HWJ_ERR_TOKEN, HWJ_SRC_PKCS11, rv,
                                "token '%s' (serial %s) is not present: %s (CK_RV 0x%lx); "
                                "reconnect it: it is found again on the next operation (a "
                                "PKCS#11 token listing shows the tokens present)",
                                t->label, t->serial, p11_kit_strerror(rv), (unsigned long)rv);
}

/* After the token went away: find the slot that holds it now (same label and serial; a token
 * that merely has the same label is another token, with other keys). */
static hwj_err token_find_again(p11_token *t, hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_SLOT_ID slots[64];
    CK_ULONG count = 64;
    CK_RV rv = f->C_GetSlotList(CK_TRUE, slots, &count);

    if (rv != CKR_OK && rv != CKR_BUFFER_TOO_SMALL)
        return gone_error(t, rv, err);
    for (CK_ULONG i = 0; i < count && i < 64; i++) {
        CK_TOKEN_INFO ti;
        char label[33], serial[17];
        if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
            continue;
        trim(label, ti.label, 32);
        trim(serial, ti.serialNumber, 16);
        if (strcmp(label, t->label) == 0 && strcmp(serial, t->serial) == 0) {
            pthread_mutex_lock(&t->lock);
            t->slot = slots[i];
            t->dead = 0;
            pthread_mutex_unlock(&t->lock);
            return HWJ_OK;
        }
    }
    return gone_error(t, CKR_TOKEN_NOT_PRESENT, err);
}

hwj_err p11_session_get(p11_token *t, CK_SESSION_HANDLE *s, unsigned *gen, hwj_error *err)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_SESSION_HANDLE h;
    CK_SLOT_ID slot;
    unsigned mg, g;
    int dead;
    hwj_err rc;
    CK_RV rv;

    if ((rc = module_check_fork(t->mod, err)) != HWJ_OK)
        return rc;
    mg = atomic_load(&t->mod->gen);
    pthread_mutex_lock(&t->lock);
    if (t->modgen != mg) {
        /* Handles of another initialisation (the parent's, or before a recovery): forget
         * them, never close them; the slot may be numbered anew. */
        t->nidle = 0;
        t->logged_in = 0;
        t->modgen = mg;
        t->dead = 1;
        t->gen++;
    }
    if (t->nidle > 0) {
        *s = t->idle[--t->nidle];
        *gen = t->gen;
        pthread_mutex_unlock(&t->lock);
        return HWJ_OK;
    }
    dead = t->dead;
    pthread_mutex_unlock(&t->lock);

    if (dead && (rc = token_find_again(t, err)) != HWJ_OK)
        return rc;
    pthread_mutex_lock(&t->lock);
    slot = t->slot;
    g = t->gen;
    pthread_mutex_unlock(&t->lock);
    rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
    if (p11_rv_gone(rv)) {
        token_gone(t, g);
        return gone_error(t, rv, err);
    }
    if (rv != CKR_OK)
        return p11_error(err, rv, "opening a session on token '%s'", t->label);
    pthread_mutex_lock(&t->lock);
    if (!t->logged_in && t->pin != NULL && (rc = login_locked(t, h, err)) != HWJ_OK) {
        pthread_mutex_unlock(&t->lock);
        f->C_CloseSession(h);
        return rc;
    }
    pthread_mutex_unlock(&t->lock);
    *s = h;
    *gen = g;
    return HWJ_OK;
}

void p11_session_put(p11_token *t, CK_SESSION_HANDLE s, unsigned gen, CK_RV rv)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_SESSION_HANDLE drop[POOL_MAX];
    size_t ndrop = 0;

    if (atomic_load(&t->mod->forks) != atomic_load(&forks))
        return; /* another initialisation's handle: forget it */
    if (p11_rv_gone(rv)) {
        token_gone(t, gen);
        f->C_CloseSession(s);
        return;
    }
    pthread_mutex_lock(&t->lock);
    if (gen != t->gen) {
        pthread_mutex_unlock(&t->lock); /* from before the token went away */
        f->C_CloseSession(s);
        return;
    }
    if (p11_rv_lost(rv)) {
        /* The token was reset or logged out: every idle session is suspect. Drop them all
         * and log in again on the next one. */
        memcpy(drop, t->idle, t->nidle * sizeof(*drop));
        ndrop = t->nidle;
        t->nidle = 0;
        t->logged_in = 0;
        t->gen++; /* a logout may renumber private objects (SoftHSM does): find them again */
        pthread_mutex_unlock(&t->lock);
        f->C_CloseSession(s);
        for (size_t i = 0; i < ndrop; i++)
            f->C_CloseSession(drop[i]);
        return;
    }
    if (rv != CKR_OK) {
        /* A failed call may leave an operation active on the session: never reuse it. Closing
         * the application's last session would log it out (and SoftHSM then renumbers private
         * objects), so open its replacement first. */
        CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
        if (t->nidle == 0 && t->cap > 0 &&
            f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h) ==
                CKR_OK)
            t->idle[t->nidle++] = h;
        else if (t->nidle == 0) {
            t->logged_in = 0; /* logged out by the close below: log in, find handles again */
            t->gen++;
        }
        pthread_mutex_unlock(&t->lock);
        f->C_CloseSession(s);
        return;
    }
    if (t->nidle == t->cap && t->cap < POOL_MAX) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        CK_SESSION_HANDLE *p = realloc(t->idle, cap * sizeof(*p));
        if (p != NULL) {
            t->idle = p;
            t->cap = cap;
        }
    }
    if (t->nidle < t->cap) {
        t->idle[t->nidle++] = s;
        pthread_mutex_unlock(&t->lock);
        return;
    }
    pthread_mutex_unlock(&t->lock);
    f->C_CloseSession(s);
}

/* ---- mechanisms ---- */

int p11_token_has_mech(p11_token *t, CK_MECHANISM_TYPE mech, CK_FLAGS flags,
                       CK_MECHANISM_INFO *info)
{
    CK_FUNCTION_LIST *f = t->mod->f;
    CK_MECHANISM_INFO mi;
    int found = 0;

    pthread_mutex_lock(&t->lock);
    if (t->mechs == NULL) {
        CK_ULONG n = 0;
        if (f->C_GetMechanismList(t->slot, NULL, &n) == CKR_OK && n > 0 &&
            (t->mechs = calloc(n, sizeof(*t->mechs))) != NULL) {
            if (f->C_GetMechanismList(t->slot, t->mechs, &n) == CKR_OK) {
                t->nmechs = n;
            } else {
                free(t->mechs);
                t->mechs = NULL;
            }
        }
    }
    for (CK_ULONG i = 0; i < t->nmechs && !found; i++)
        found = t->mechs[i] == mech;
    pthread_mutex_unlock(&t->lock);
    if (!found || f->C_GetMechanismInfo(t->slot, mech, &mi) != CKR_OK ||
        (mi.flags & flags) != flags)
        return 0;
    if (info != NULL)
        *info = mi;
    return 1;
}
