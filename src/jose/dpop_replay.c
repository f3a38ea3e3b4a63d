/* dpop_replay.c: the bounded replay cache of DPoP proofs (RFC 9449 §11.1).
 *
 * An entry is SHA-256(jkt NUL htu NUL jti) and the time it expires, iat + max_age + leeway:
 * from then on the verifier refuses the proof as stale, so the entry can go. The table is open
 * addressing over twice the bound, rebuilt without the expired entries when it is full; full of
 * live entries, it refuses (fails closed) rather than forget a jti a replay could still use. */
#include "core/digest.h"
#include "core/error.h"
#include "jose/dpop_internal.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint8_t id[32];
    int64_t expires; /* 0: empty slot */
};

struct hwj_dpop_replay {
    pthread_mutex_t lock;
    struct entry *slots;
    size_t mask; /* slots - 1, a power of two minus one */
    size_t count, max;
    int64_t window;   /* max_age + leeway */
    int64_t earliest; /* no entry expires before this: a full cache sweeps only after it */
};

#define REPLAY_MAX_ENTRIES ((size_t)1 << 24)

HWJ_EXPORT hwj_err hwj_dpop_replay_new(size_t max_entries, int64_t max_age, int64_t leeway,
                                       hwj_dpop_replay **out, hwj_error *err)
{
    hwj_dpop_replay *c;
    size_t n = 2;

    hwj_error_reset(err);
    if (out == NULL)
        return hwj_error_set(err, HWJ_ERR_ARG, "hwj_dpop_replay_new: missing argument");
    if (max_entries == 0)
        max_entries = HWJ_DPOP_DEFAULT_REPLAY_MAX;
    if (max_age == 0)
        max_age = HWJ_DPOP_DEFAULT_MAX_AGE;
    if (leeway == 0)
        leeway = HWJ_DPOP_DEFAULT_LEEWAY;
    if (leeway < 0)
        leeway = 0;
    if (max_entries > REPLAY_MAX_ENTRIES || max_age < 0 || max_age > 86400 || leeway > 3600)
        return hwj_error_set(err, HWJ_ERR_ARG,
                             "a DPoP replay cache holds at most 2^24 entries over at most a day "
                             "(max_age) plus an hour (leeway)");
    while (n < 2 * max_entries)
        n <<= 1;
    if ((c = calloc(1, sizeof(*c))) == NULL || (c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
        free(c);
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory for the DPoP replay cache");
    }
    pthread_mutex_init(&c->lock, NULL);
    c->mask = n - 1;
    c->max = max_entries;
    c->window = max_age + leeway;
    *out = c;
    return HWJ_OK;
}

HWJ_EXPORT void hwj_dpop_replay_free(hwj_dpop_replay *c)
{
    if (c == NULL)
        return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

static size_t slot_of(const hwj_dpop_replay *c, const uint8_t *id)
{
    size_t h;
    memcpy(&h, id, sizeof(h)); /* a SHA-256 prefix is already uniform */
    return h & c->mask;
}

/* The slot holding `id`, or the empty slot where it goes. The table is never full (at most
 * half its slots are used), so the probe ends. */
static struct entry *probe(hwj_dpop_replay *c, const uint8_t *id)
{
    size_t i = slot_of(c, id);
    while (c->slots[i].expires != 0 && memcmp(c->slots[i].id, id, sizeof(c->slots[i].id)) != 0)
        i = (i + 1) & c->mask;
    return &c->slots[i];
}

/* Drop the entries expired at `now` by reinserting the others into a new table. */
static hwj_err sweep(hwj_dpop_replay *c, int64_t now, hwj_error *err)
{
    struct entry *old = c->slots, *e;
    size_t n = c->mask + 1;

    if ((c->slots = calloc(n, sizeof(*c->slots))) == NULL) {
        c->slots = old;
        return hwj_error_set(err, HWJ_ERR_NOMEM, "out of memory sweeping the DPoP replay cache");
    }
    c->count = 0;
    c->earliest = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (old[i].expires == 0 || old[i].expires <= now)
            continue;
        e = probe(c, old[i].id);
        *e = old[i];
        c->count++;
        if (e->expires < c->earliest)
            c->earliest = e->expires;
    }
    free(old);
    return HWJ_OK;
}

static void entry_id(const char *jkt, const char *htu, const char *jti, uint8_t id[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 32;
    /* NUL separators: no two (jkt, htu, jti) share an input */
    if (md == NULL || EVP_DigestInit_ex(md, hwj_md_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, jkt, strlen(jkt) + 1) != 1 ||
        EVP_DigestUpdate(md, htu, strlen(htu) + 1) != 1 ||
        EVP_DigestUpdate(md, jti, strlen(jti)) != 1 || EVP_DigestFinal_ex(md, id, &len) != 1)
        memset(id, 0, 32); /* caller checks for all zero */
    EVP_MD_CTX_free(md);
}

hwj_err hwj_dpop_replay_check(hwj_dpop_replay *c, const char *jkt, const char *htu, const char *jti,
                              int64_t iat, int64_t now, hwj_error *err)
{
    static const uint8_t zero[32];
    uint8_t id[32];
    struct entry *e;
    int64_t expires = (iat > now ? iat : now) + c->window + 1;
    hwj_err rc = HWJ_OK;

    entry_id(jkt, htu, jti, id);
    if (memcmp(id, zero, sizeof(id)) == 0)
        return hwj_error_set_openssl(err, HWJ_ERR_CRYPTO, "hashing the DPoP proof's jti");
    pthread_mutex_lock(&c->lock);
    e = probe(c, id);
    if (e->expires > now) {
        rc = hwj_error_set(err, HWJ_ERR_CLAIMS,
                           "the DPoP proof was already used (jti replayed); make a new proof for "
                           "every request");
        goto out;
    }
    if (e->expires != 0) { /* the same jti long ago: its old proof is stale, this one is not */
        e->expires = expires;
        goto out;
    }
    if (c->count >= c->max) {
        if (now < c->earliest || (rc = sweep(c, now, err)) != HWJ_OK)
            goto full;
        if (c->count >= c->max)
            goto full;
        e = probe(c, id);
    }
    memcpy(e->id, id, sizeof(id));
    e->expires = expires;
    if (c->count++ == 0 || expires < c->earliest)
        c->earliest = expires;
    goto out;
full:
    if (rc == HWJ_OK)
        rc = hwj_error_set(err, HWJ_ERR_LIMIT,
                           "the DPoP replay cache is full (%zu proofs within the iat window); "
                           "refusing rather than forgetting one: raise its size or shorten the "
                           "window",
                           c->max);
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

HWJ_EXPORT size_t hwj_dpop_replay_count(hwj_dpop_replay *c)
{
    size_t n;
    if (c == NULL)
        return 0;
    pthread_mutex_lock(&c->lock);
    n = c->count; /* live or expired-not-yet-swept: an upper bound */
    pthread_mutex_unlock(&c->lock);
    return n;
}
