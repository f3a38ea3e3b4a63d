/* shim_fault.c: a fault-injecting PKCS#11 module for the tests. It loads SoftHSM (or
 * $HWJ_FAULT_MODULE), forwards every function of its CK_FUNCTION_LIST, and before each call
 * consults a control file that chooses which calls fail, with which CKR, at which rate, or
 * which calls are slowed down.
 *
 * Interface (other tests build on it; keep it stable):
 *   HWJ_FAULT_CONTROL=<path>   the control file. Missing or empty: no faults. It is stat()ed
 *                              once per call and re-read when its inode, size or mtime/ctime
 *                              changes — write a new file and rename() it over the old one so
 *                              two edits within one timestamp tick are never confused.
 *   HWJ_FAULT_MODULE=<path>    the real module (default: SoftHSM's, compiled in).
 *   HWJ_FAULT_STATS=<path>     if set, per-function "name calls N faults M" lines are written
 *                              there on C_Finalize and at exit.
 * Control file, one rule a line, '#' starts a comment, blank lines ignored:
 *   <C_FunctionName|*> <CKR_NAME|delay=MS> <rate 0..1>
 *   C_Sign CKR_DEVICE_ERROR 0.5       half of the C_Sign calls fail with CKR_DEVICE_ERROR
 *   * CKR_DEVICE_REMOVED 1            every call fails (the token was pulled)
 *   C_Sign delay=200 1                every C_Sign first sleeps 200 ms, then runs
 *   C_OpenSession CKR_TOKEN_NOT_PRESENT 1
 * A faulted call returns the CKR without calling the real module. Rules are tried in file
 * order: delays add up, the first error rule that fires wins. '*' matches every function except
 * C_Initialize, C_Finalize and C_GetInfo (name those explicitly to fault them). A malformed line
 * is ignored and reported once on stderr. C_Initialize accepts an already initialised SoftHSM
 * and C_Finalize does not finalise it: SoftHSM is shared with the process's other users.
 */
#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifndef HWJ_SOFTHSM_MODULE
#define HWJ_SOFTHSM_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#endif

/* Every function of a v2.40 CK_FUNCTION_LIST but C_GetFunctionList: name, parameters, arguments. */
#define HWJ_FAULT_FUNCS(W)                                                                         \
    W(C_Initialize, (void *init_args), (init_args))                                                \
    W(C_Finalize, (void *reserved), (reserved))                                                    \
    W(C_GetInfo, (CK_INFO * info), (info))                                                         \
    W(C_GetSlotList, (unsigned char token_present, CK_SLOT_ID *slot_list, unsigned long *count),   \
      (token_present, slot_list, count))                                                           \
    W(C_GetSlotInfo, (CK_SLOT_ID slot_id, CK_SLOT_INFO * info), (slot_id, info))                   \
    W(C_GetTokenInfo, (CK_SLOT_ID slot_id, CK_TOKEN_INFO * info), (slot_id, info))                 \
    W(C_GetMechanismList,                                                                          \
      (CK_SLOT_ID slot_id, CK_MECHANISM_TYPE * mechanism_list, unsigned long *count),              \
      (slot_id, mechanism_list, count))                                                            \
    W(C_GetMechanismInfo, (CK_SLOT_ID slot_id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO * info),  \
      (slot_id, type, info))                                                                       \
    W(C_InitToken,                                                                                 \
      (CK_SLOT_ID slot_id, unsigned char *pin, unsigned long pin_len, unsigned char *label),       \
      (slot_id, pin, pin_len, label))                                                              \
    W(C_InitPIN, (CK_SESSION_HANDLE session, unsigned char *pin, unsigned long pin_len),           \
      (session, pin, pin_len))                                                                     \
    W(C_SetPIN,                                                                                    \
      (CK_SESSION_HANDLE session, unsigned char *old_pin, unsigned long old_len,                   \
       unsigned char *new_pin, unsigned long new_len),                                             \
      (session, old_pin, old_len, new_pin, new_len))                                               \
    W(C_OpenSession,                                                                               \
      (CK_SLOT_ID slot_id, CK_FLAGS flags, void *application, CK_NOTIFY notify,                    \
       CK_SESSION_HANDLE *session),                                                                \
      (slot_id, flags, application, notify, session))                                              \
    W(C_CloseSession, (CK_SESSION_HANDLE session), (session))                                      \
    W(C_CloseAllSessions, (CK_SLOT_ID slot_id), (slot_id))                                         \
    W(C_GetSessionInfo, (CK_SESSION_HANDLE session, CK_SESSION_INFO * info), (session, info))      \
    W(C_GetOperationState,                                                                         \
      (CK_SESSION_HANDLE session, unsigned char *operation_state,                                  \
       unsigned long *operation_state_len),                                                        \
      (session, operation_state, operation_state_len))                                             \
    W(C_SetOperationState,                                                                         \
      (CK_SESSION_HANDLE session, unsigned char *operation_state,                                  \
       unsigned long operation_state_len, CK_OBJECT_HANDLE encryption_key,                         \
       CK_OBJECT_HANDLE authentiation_key),                                                        \
      (session, operation_state, operation_state_len, encryption_key, authentiation_key))          \
    W(C_Login,                                                                                     \
      (CK_SESSION_HANDLE session, CK_USER_TYPE user_type, unsigned char *pin,                      \
       unsigned long pin_len),                                                                     \
      (session, user_type, pin, pin_len))                                                          \
    W(C_Logout, (CK_SESSION_HANDLE session), (session))                                            \
    W(C_CreateObject,                                                                              \
      (CK_SESSION_HANDLE session, CK_ATTRIBUTE * templ, unsigned long count,                       \
       CK_OBJECT_HANDLE *object),                                                                  \
      (session, templ, count, object))                                                             \
    W(C_CopyObject,                                                                                \
      (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE * templ,                   \
       unsigned long count, CK_OBJECT_HANDLE *new_object),                                         \
      (session, object, templ, count, new_object))                                                 \
    W(C_DestroyObject, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object), (session, object))    \
    W(C_GetObjectSize, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, unsigned long *size),  \
      (session, object, size))                                                                     \
    W(C_GetAttributeValue,                                                                         \
      (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE * templ,                   \
       unsigned long count),                                                                       \
      (session, object, templ, count))                                                             \
    W(C_SetAttributeValue,                                                                         \
      (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE object, CK_ATTRIBUTE * templ,                   \
       unsigned long count),                                                                       \
      (session, object, templ, count))                                                             \
    W(C_FindObjectsInit, (CK_SESSION_HANDLE session, CK_ATTRIBUTE * templ, unsigned long count),   \
      (session, templ, count))                                                                     \
    W(C_FindObjects,                                                                               \
      (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE * object, unsigned long max_object_count,       \
       unsigned long *object_count),                                                               \
      (session, object, max_object_count, object_count))                                           \
    W(C_FindObjectsFinal, (CK_SESSION_HANDLE session), (session))                                  \
    W(C_EncryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),  \
      (session, mechanism, key))                                                                   \
    W(C_Encrypt,                                                                                   \
      (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,                     \
       unsigned char *encrypted_data, unsigned long *encrypted_data_len),                          \
      (session, data, data_len, encrypted_data, encrypted_data_len))                               \
    W(C_EncryptUpdate,                                                                             \
      (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,                     \
       unsigned char *encrypted_part, unsigned long *encrypted_part_len),                          \
      (session, part, part_len, encrypted_part, encrypted_part_len))                               \
    W(C_EncryptFinal,                                                                              \
      (CK_SESSION_HANDLE session, unsigned char *last_encrypted_part,                              \
       unsigned long *last_encrypted_part_len),                                                    \
      (session, last_encrypted_part, last_encrypted_part_len))                                     \
    W(C_DecryptInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),  \
      (session, mechanism, key))                                                                   \
    W(C_Decrypt,                                                                                   \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_data, unsigned long encrypted_data_len, \
       unsigned char *data, unsigned long *data_len),                                              \
      (session, encrypted_data, encrypted_data_len, data, data_len))                               \
    W(C_DecryptUpdate,                                                                             \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len),                                              \
      (session, encrypted_part, encrypted_part_len, part, part_len))                               \
    W(C_DecryptFinal,                                                                              \
      (CK_SESSION_HANDLE session, unsigned char *last_part, unsigned long *last_part_len),         \
      (session, last_part, last_part_len))                                                         \
    W(C_DigestInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism), (session, mechanism))   \
    W(C_Digest,                                                                                    \
      (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,                     \
       unsigned char *digest, unsigned long *digest_len),                                          \
      (session, data, data_len, digest, digest_len))                                               \
    W(C_DigestUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),    \
      (session, part, part_len))                                                                   \
    W(C_DigestKey, (CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key), (session, key))              \
    W(C_DigestFinal,                                                                               \
      (CK_SESSION_HANDLE session, unsigned char *digest, unsigned long *digest_len),               \
      (session, digest, digest_len))                                                               \
    W(C_SignInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),     \
      (session, mechanism, key))                                                                   \
    W(C_Sign,                                                                                      \
      (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,                     \
       unsigned char *signature, unsigned long *signature_len),                                    \
      (session, data, data_len, signature, signature_len))                                         \
    W(C_SignUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),      \
      (session, part, part_len))                                                                   \
    W(C_SignFinal,                                                                                 \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long *signature_len),         \
      (session, signature, signature_len))                                                         \
    W(C_SignRecoverInit,                                                                           \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),                 \
      (session, mechanism, key))                                                                   \
    W(C_SignRecover,                                                                               \
      (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,                     \
       unsigned char *signature, unsigned long *signature_len),                                    \
      (session, data, data_len, signature, signature_len))                                         \
    W(C_VerifyInit, (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),   \
      (session, mechanism, key))                                                                   \
    W(C_Verify,                                                                                    \
      (CK_SESSION_HANDLE session, unsigned char *data, unsigned long data_len,                     \
       unsigned char *signature, unsigned long signature_len),                                     \
      (session, data, data_len, signature, signature_len))                                         \
    W(C_VerifyUpdate, (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len),    \
      (session, part, part_len))                                                                   \
    W(C_VerifyFinal,                                                                               \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len),          \
      (session, signature, signature_len))                                                         \
    W(C_VerifyRecoverInit,                                                                         \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE key),                 \
      (session, mechanism, key))                                                                   \
    W(C_VerifyRecover,                                                                             \
      (CK_SESSION_HANDLE session, unsigned char *signature, unsigned long signature_len,           \
       unsigned char *data, unsigned long *data_len),                                              \
      (session, signature, signature_len, data, data_len))                                         \
    W(C_DigestEncryptUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,                     \
       unsigned char *encrypted_part, unsigned long *encrypted_part_len),                          \
      (session, part, part_len, encrypted_part, encrypted_part_len))                               \
    W(C_DecryptDigestUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len),                                              \
      (session, encrypted_part, encrypted_part_len, part, part_len))                               \
    W(C_SignEncryptUpdate,                                                                         \
      (CK_SESSION_HANDLE session, unsigned char *part, unsigned long part_len,                     \
       unsigned char *encrypted_part, unsigned long *encrypted_part_len),                          \
      (session, part, part_len, encrypted_part, encrypted_part_len))                               \
    W(C_DecryptVerifyUpdate,                                                                       \
      (CK_SESSION_HANDLE session, unsigned char *encrypted_part, unsigned long encrypted_part_len, \
       unsigned char *part, unsigned long *part_len),                                              \
      (session, encrypted_part, encrypted_part_len, part, part_len))                               \
    W(C_GenerateKey,                                                                               \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_ATTRIBUTE * templ,                  \
       unsigned long count, CK_OBJECT_HANDLE *key),                                                \
      (session, mechanism, templ, count, key))                                                     \
    W(C_GenerateKeyPair,                                                                           \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_ATTRIBUTE * public_key_template,    \
       unsigned long public_key_attribute_count, CK_ATTRIBUTE *private_key_template,               \
       unsigned long private_key_attribute_count, CK_OBJECT_HANDLE *public_key,                    \
       CK_OBJECT_HANDLE *private_key),                                                             \
      (session, mechanism, public_key_template, public_key_attribute_count, private_key_template,  \
       private_key_attribute_count, public_key, private_key))                                      \
    W(C_WrapKey,                                                                                   \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE wrapping_key,         \
       CK_OBJECT_HANDLE key, unsigned char *wrapped_key, unsigned long *wrapped_key_len),          \
      (session, mechanism, wrapping_key, key, wrapped_key, wrapped_key_len))                       \
    W(C_UnwrapKey,                                                                                 \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE unwrapping_key,       \
       unsigned char *wrapped_key, unsigned long wrapped_key_len, CK_ATTRIBUTE *templ,             \
       unsigned long attribute_count, CK_OBJECT_HANDLE *key),                                      \
      (session, mechanism, unwrapping_key, wrapped_key, wrapped_key_len, templ, attribute_count,   \
       key))                                                                                       \
    W(C_DeriveKey,                                                                                 \
      (CK_SESSION_HANDLE session, CK_MECHANISM * mechanism, CK_OBJECT_HANDLE base_key,             \
       CK_ATTRIBUTE * templ, unsigned long attribute_count, CK_OBJECT_HANDLE *key),                \
      (session, mechanism, base_key, templ, attribute_count, key))                                 \
    W(C_SeedRandom, (CK_SESSION_HANDLE session, unsigned char *seed, unsigned long seed_len),      \
      (session, seed, seed_len))                                                                   \
    W(C_GenerateRandom,                                                                            \
      (CK_SESSION_HANDLE session, unsigned char *random_data, unsigned long random_len),           \
      (session, random_data, random_len))                                                          \
    W(C_GetFunctionStatus, (CK_SESSION_HANDLE session), (session))                                 \
    W(C_CancelFunction, (CK_SESSION_HANDLE session), (session))                                    \
    W(C_WaitForSlotEvent, (CK_FLAGS flags, CK_SLOT_ID * slot, void *reserved),                     \
      (flags, slot, reserved))

enum {
#define W(name, params, args) F_##name,
    HWJ_FAULT_FUNCS(W)
#undef W
        F_COUNT
};

static const char *const fnames[F_COUNT] = {
#define W(name, params, args) #name,
    HWJ_FAULT_FUNCS(W)
#undef W
};

static const struct {
    const char *name;
    CK_RV rv;
} ckrs[] = {
#define R(x)                                                                                       \
    {                                                                                              \
#x, x                                                                                      \
    }
    R(CKR_OK),
    R(CKR_HOST_MEMORY),
    R(CKR_SLOT_ID_INVALID),
    R(CKR_GENERAL_ERROR),
    R(CKR_FUNCTION_FAILED),
    R(CKR_ARGUMENTS_BAD),
    R(CKR_DEVICE_ERROR),
    R(CKR_DEVICE_MEMORY),
    R(CKR_DEVICE_REMOVED),
    R(CKR_FUNCTION_CANCELED),
    R(CKR_KEY_HANDLE_INVALID),
    R(CKR_OBJECT_HANDLE_INVALID),
    R(CKR_OPERATION_ACTIVE),
    R(CKR_OPERATION_NOT_INITIALIZED),
    R(CKR_PIN_INCORRECT),
    R(CKR_PIN_LOCKED),
    R(CKR_SESSION_CLOSED),
    R(CKR_SESSION_COUNT),
    R(CKR_SESSION_HANDLE_INVALID),
    R(CKR_TOKEN_NOT_PRESENT),
    R(CKR_TOKEN_NOT_RECOGNIZED),
    R(CKR_USER_NOT_LOGGED_IN),
    R(CKR_USER_ALREADY_LOGGED_IN),
    R(CKR_CRYPTOKI_NOT_INITIALIZED),
#undef R
};

#define MAX_RULES 64

typedef struct rule {
    int fn;   /* F_* index, or -1 for '*' */
    CK_RV rv; /* the error to return, when delay_ms == 0 */
    long delay_ms;
    double rate;
} rule;

static CK_FUNCTION_LIST real, shim;
static const char *control;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards rules and the stamp */
static rule rules[MAX_RULES];
static int nrules;
static struct stat stamp; /* st_ino == 0 && st_size == 0: no file */
static atomic_ulong calls[F_COUNT], faults[F_COUNT];
static atomic_ullong rng;

/* splitmix64 over an atomic counter: thread-safe and lock-free. */
static double draw(void)
{
    uint64_t z = atomic_fetch_add_explicit(&rng, 0x9e3779b97f4a7c15ULL, memory_order_relaxed);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / (double)(1ULL << 53);
}

static int parse_rule(char *line, rule *r)
{
    char fn[64], what[64], extra[2];
    double rate;
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    int n = sscanf(line, "%63s %63s %lf %1s", fn, what, &rate, extra);
    if (n <= 0)
        return 0; /* blank */
    if (n != 3 || rate < 0 || rate > 1)
        return -1;
    r->fn = -2;
    if (strcmp(fn, "*") == 0)
        r->fn = -1;
    for (int i = 0; i < F_COUNT && r->fn == -2; i++)
        if (strcmp(fn, fnames[i]) == 0)
            r->fn = i;
    if (r->fn == -2)
        return -1;
    r->rate = rate;
    r->delay_ms = 0;
    if (strncmp(what, "delay=", 6) == 0) {
        char *end;
        r->delay_ms = strtol(what + 6, &end, 10);
        return *end == '\0' && r->delay_ms > 0 && r->delay_ms <= 600000 ? 1 : -1;
    }
    for (size_t i = 0; i < sizeof ckrs / sizeof ckrs[0]; i++)
        if (strcmp(what, ckrs[i].name) == 0) {
            r->rv = ckrs[i].rv;
            return 1;
        }
    return -1;
}

/* Called with `lock` held when the file's stamp changed. */
static void reload(void)
{
    FILE *fp = fopen(control, "r");
    char line[256];
    nrules = 0;
    if (fp == NULL)
        return;
    while (fgets(line, sizeof line, fp) != NULL) {
        rule r;
        int ok = parse_rule(line, &r);
        if (ok < 0)
            fprintf(stderr, "shim_fault: %s: ignoring bad rule\n", control);
        else if (ok > 0 && nrules < MAX_RULES)
            rules[nrules++] = r;
    }
    fclose(fp);
}

static int same_stamp(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The fault for a call of function `fn`: CKR_OK to forward it (after any delay). */
static CK_RV fault(int fn)
{
    struct stat st;
    long delay = 0;
    CK_RV rv = CKR_OK;
    atomic_fetch_add_explicit(&calls[fn], 1, memory_order_relaxed);
    if (control == NULL)
        return CKR_OK;
    if (stat(control, &st) != 0)
        memset(&st, 0, sizeof st);
    pthread_mutex_lock(&lock);
    if (!same_stamp(&st, &stamp)) {
        stamp = st;
        reload();
    }
    for (int i = 0; i < nrules; i++) {
        const rule *r = &rules[i];
        int match = r->fn == fn || (r->fn == -1 && fn != F_C_Initialize && fn != F_C_Finalize &&
                                    fn != F_C_GetInfo);
        if (!match || (r->rate < 1 && draw() >= r->rate))
            continue;
        if (r->delay_ms > 0)
            delay += r->delay_ms;
        else if (rv == CKR_OK)
            rv = r->rv;
    }
    pthread_mutex_unlock(&lock);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    if (rv != CKR_OK)
        atomic_fetch_add_explicit(&faults[fn], 1, memory_order_relaxed);
    return rv;
}

static void write_stats(void)
{
    const char *path = getenv("HWJ_FAULT_STATS");
    FILE *fp;
    if (path == NULL || (fp = fopen(path, "w")) == NULL)
        return;
    for (int i = 0; i < F_COUNT; i++) {
        unsigned long c = atomic_load(&calls[i]), f = atomic_load(&faults[i]);
        if (c > 0)
            fprintf(fp, "%s calls %lu faults %lu\n", fnames[i], c, f);
    }
    fclose(fp);
}

/* C_Initialize and C_Finalize adapted to a SoftHSM shared within the process. */
static CK_C_Initialize orig_initialize;

static CK_RV shared_initialize(void *args)
{
    CK_RV rv = orig_initialize(args);
    return rv == CKR_CRYPTOKI_ALREADY_INITIALIZED ? CKR_OK : rv;
}

static CK_RV shared_finalize(void *reserved)
{
    (void)reserved;
    write_stats();
    return CKR_OK;
}

#define W(name, params, args)                                                                      \
    static CK_RV w_##name params                                                                   \
    {                                                                                              \
        CK_RV rv = fault(F_##name);                                                                \
        return rv != CKR_OK ? rv : real.name args;                                                 \
    }
HWJ_FAULT_FUNCS(W)
#undef W

static pthread_once_t once = PTHREAD_ONCE_INIT;
static CK_RV load_rv = CKR_GENERAL_ERROR;

static void load(void)
{
    const char *path = getenv("HWJ_FAULT_MODULE");
    CK_C_GetFunctionList get;
    CK_FUNCTION_LIST *fl = NULL;
    void *h =
        dlopen(path != NULL && *path != '\0' ? path : HWJ_SOFTHSM_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL || (get = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList")) == NULL ||
        get(&fl) != CKR_OK || fl == NULL) {
        fprintf(stderr, "shim_fault: cannot load the real module: %s\n",
                h == NULL ? dlerror() : "no C_GetFunctionList");
        return;
    }
    real = *fl;
    orig_initialize = real.C_Initialize;
    real.C_Initialize = shared_initialize;
    real.C_Finalize = shared_finalize;
    shim.version = real.version;
#define W(name, params, args) shim.name = w_##name;
    HWJ_FAULT_FUNCS(W)
#undef W
    shim.C_GetFunctionList = C_GetFunctionList;
    control = getenv("HWJ_FAULT_CONTROL");
    atomic_store(&rng, (unsigned long long)time(NULL) ^ (unsigned long long)(uintptr_t)&shim);
    atexit(write_stats);
    load_rv = CKR_OK;
}

__attribute__((visibility("default"))) CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_once(&once, load);
    if (load_rv == CKR_OK)
        *out = &shim;
    return load_rv;
}
