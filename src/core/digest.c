/* digest.c: SHA-1/256/384/512 fetched once (see digest.h). The fetched digests live for the
 * process: freeing them at exit would race with threads still hashing. */
#include "core/digest.h"

#include <pthread.h>
#include <string.h>

static const char *const names[] = {"SHA1", "SHA256", "SHA384", "SHA512"};
#define NMDS (sizeof(names) / sizeof(names[0]))

static EVP_MD *mds[NMDS];
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

static void fetch_all(void)
{
    for (size_t i = 0; i < NMDS; i++)
        mds[i] = EVP_MD_fetch(NULL, names[i], NULL);
}

const EVP_MD *hwj_md_get(const char *name)
{
    if (name == NULL)
        return NULL;
    pthread_once(&mds_once, fetch_all);
    for (size_t i = 0; i < NMDS; i++)
        if (strcmp(names[i], name) == 0)
            return mds[i];
    return NULL;
}

const EVP_MD *hwj_md_sha256(void)
{
    const EVP_MD *md = hwj_md_get("SHA256");
    return md != NULL ? md : EVP_sha256();
}
