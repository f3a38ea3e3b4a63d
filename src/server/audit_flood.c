/* audit_flood.c: unauthenticated denials, counted per source address instead of written one by
 * one — anyone can send those, and one fdatasync'd record each would let them fill the disk
 * and slow every real request. The table is bounded: past AFLOOD_SOURCES distinct sources in
 * one interval the rest are counted together as "other". audit.c flushes it on a timer, one
 * record per source. */
#include "server/audit_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct source {
    char addr[48]; /* "" when the slot is free */
    uint64_t count;
    int64_t since, until;
} source;

static pthread_mutex_t flood_lock = PTHREAD_MUTEX_INITIALIZER;
static source table[AFLOOD_SOURCES];
static source other = {"other", 0, 0, 0};
static size_t used;

/* "192.0.2.1:4711" → "192.0.2.1", "[2001:db8::1]:4711" → "2001:db8::1". */
static void address_of(const char *peer, char out[48])
{
    const char *end = strrchr(peer, ':');
    if (peer[0] == '[') {
        peer++;
        end = strchr(peer, ']');
    }
    size_t n = end ? (size_t)(end - peer) : strlen(peer);
    if (n >= 48)
        n = 47;
    memcpy(out, peer, n);
    out[n] = '\0';
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void bump(source *s, int64_t now)
{
    if (s->count++ == 0)
        s->since = now;
    s->until = now;
}

void aflood_count(const char *peer)
{
    char addr[48];
    address_of(peer ? peer : "-", addr);
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&flood_lock);
    size_t i = fnv1a(addr) % AFLOOD_SOURCES;
    /* Open addressing; the table is at most 3/4 full, then new sources go to "other". */
    while (table[i].addr[0] && strcmp(table[i].addr, addr) != 0)
        i = (i + 1) % AFLOOD_SOURCES;
    if (table[i].addr[0]) {
        bump(&table[i], now);
    } else if (used < AFLOOD_SOURCES * 3 / 4) {
        memcpy(table[i].addr, addr, sizeof(addr));
        used++;
        bump(&table[i], now);
    } else {
        bump(&other, now);
    }
    pthread_mutex_unlock(&flood_lock);
}

void aflood_flush(aflood_emit_fn emit, void *arg)
{
    source *copy = malloc(sizeof(table) + sizeof(other));
    size_t n = 0;
    pthread_mutex_lock(&flood_lock);
    for (size_t i = 0; copy && i < AFLOOD_SOURCES; i++)
        if (table[i].addr[0])
            copy[n++] = table[i];
    if (copy && other.count)
        copy[n++] = other;
    if (copy) {
        memset(table, 0, sizeof(table));
        other.count = 0;
        used = 0;
    }
    pthread_mutex_unlock(&flood_lock);
    /* Written outside the lock: counting never waits for the disk. */
    for (size_t i = 0; i < n; i++)
        emit(arg, copy[i].addr, copy[i].count, copy[i].since, copy[i].until);
    free(copy);
}
