/* check.c: `hwjose serve --check-config FILE`: everything the service would refuse at start,
 * found before a deploy — the config's own checks, then the TLS files, the audit log's place,
 * the store and every key (each opened, so a wrong PIN source, token label or object is named).
 * Nothing listens and nothing is written: a SQLite store that does not exist yet only needs a
 * writable directory, as the service creates it at its first start. */
#include "server/lifecycle.h"
#include "server/server.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/ssl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct checker {
    void (*say)(void *arg, const char *problem);
    void *arg;
    int problems;
} checker;

static void problem(checker *c, const char *fmt, ...) HWJ_PRINTF(2, 3);
static void problem(checker *c, const char *fmt, ...)
{
    char msg[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->say(c->arg, msg);
    c->problems++;
}

/* `path` can be appended to, or (absent) created in its directory. */
static void check_writable(checker *c, const char *what, const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return;
    }
    if (errno != ENOENT) {
        problem(c, "%s '%s': cannot be opened for appending: %s", what, path, strerror(errno));
        return;
    }
    char *copy = strdup(path);
    const char *dir = copy ? dirname(copy) : ".";
    if (access(dir, W_OK | X_OK) != 0)
        problem(c, "%s '%s': cannot be created: directory '%s': %s", what, path, dir,
                strerror(errno));
    free(copy);
}

static void check_key(checker *c, hwj_ctx *ctx, const char *name, const char *what, const char *uri)
{
    hwj_key *key = NULL;
    hwj_error err = {0};
    if (hwj_key_open(ctx, uri, NULL, &key, &err) != HWJ_OK)
        problem(c, "key '%s'%s: %s", name, what, err.message);
    hwj_key_free(key);
}

/* The versions the store holds for the config's keys, each opened (not those removed). */
static void check_store(checker *c, hwj_ctx *ctx, const srv_config *cfg)
{
    srv_store *store = NULL;
    srv_version *v = NULL;
    size_t n = 0;
    char msg[1024], where[64];
    struct stat sb;
    const char *sqlite = strncmp(cfg->store_url, "sqlite:", 7) == 0 ? cfg->store_url + 7 : NULL;
    if (sqlite && stat(sqlite, &sb) != 0) {
        check_writable(c, "store", sqlite);
        return;
    }
    if (srv_store_open(cfg->store_url, "hwjose check-config", &store, msg, sizeof(msg)) !=
            SRV_STORE_OK ||
        srv_store_list(store, NULL, &v, &n, msg, sizeof(msg)) != SRV_STORE_OK) {
        problem(c, "store: %s", msg);
        goto out;
    }
    int64_t now = srv_unix_now();
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < cfg->nkeys; k++)
            if (strcmp(v[i].key_name, cfg->keys[k].name) == 0 && !srv_lc_removed(&v[i], now) &&
                (!cfg->keys[k].uri || strcmp(cfg->keys[k].uri, v[i].uri) != 0)) {
                snprintf(where, sizeof(where), " version %lld", (long long)v[i].version);
                check_key(c, ctx, cfg->keys[k].name, where, v[i].uri);
            }
out:
    srv_versions_free(v, n);
    srv_store_close(store);
}

int srv_check_config(const char *path, void (*say)(void *arg, const char *problem), void *arg)
{
    checker c = {say, arg, 0};
    srv_config *cfg = NULL;
    hwj_ctx *ctx = NULL;
    hwj_error err = {0};
    char msg[1400];
    if (srv_config_load(path, &cfg, msg, sizeof(msg)) != 0) {
        problem(&c, "%s", msg);
        goto out;
    }
    if (cfg->tls_cert) {
        SSL_CTX *ssl = srv_tls_ctx_new(cfg, msg, sizeof(msg));
        if (!ssl)
            problem(&c, "%s", msg);
        SSL_CTX_free(ssl);
    }
    check_writable(&c, "audit.path", cfg->audit_path);
    if (hwj_ctx_new(&ctx, &err) != HWJ_OK) {
        problem(&c, "%s", err.message);
        goto out;
    }
    for (size_t k = 0; k < cfg->nkeys; k++)
        if (cfg->keys[k].uri)
            check_key(&c, ctx, cfg->keys[k].name, "", cfg->keys[k].uri);
    check_store(&c, ctx, cfg);
out:
    hwj_ctx_free(ctx);
    srv_config_free(cfg);
    return c.problems;
}
