/* rand_pool.c: per-thread buffered randomness for public values; see rand_pool.h. */
#include "core/rand_pool.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#define POOL 512

static _Thread_local struct {
    uint8_t buf[POOL];
    size_t pos; /* bytes before pos are used (and wiped); 0 with an unfilled buffer too */
    int filled;
} pool;

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In the child, only the forking thread exists: its buffer is the one to drop. */
static void child_drop(void)
{
    OPENSSL_cleanse(pool.buf, sizeof(pool.buf));
    pool.filled = 0;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, child_drop);
}

int hwj_rand_public(uint8_t *out, size_t n)
{
    if (n > 64)
        return RAND_bytes(out, (int)n) == 1;
    pthread_once(&atfork_once, register_atfork);
    if (!pool.filled || POOL - pool.pos < n) {
        if (RAND_bytes(pool.buf, POOL) != 1)
            return 0;
        pool.pos = 0;
        pool.filled = 1;
    }
    memcpy(out, pool.buf + pool.pos, n);
    OPENSSL_cleanse(pool.buf + pool.pos, n);
    pool.pos += n;
    return 1;
}
