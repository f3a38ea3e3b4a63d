/* store_sqlite.c: the store in one SQLite file (`sqlite:PATH`), for a single node. Processes on
 * the node share the file: WAL journal, a busy timeout, and BEGIN IMMEDIATE for every write
 * and for migration, so writers queue instead of failing midway. */
#include "server/store_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct lite {
    sqlite3 *db;
    char *path;
};

static int lite_match(const char *url)
{
    return strncmp(url, "sqlite:", 7) == 0;
}

/* Busy and I/O errors pass (another process holds the file, a disk hiccup): UNAVAILABLE. */
static srv_store_status fail(struct lite *s, int rc, const char *what, char *msg, size_t cap)
{
    int prim = rc & 0xff;
    snprintf(msg, cap, "store %s: %s failed: %s", s->path, what,
             s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return prim == SQLITE_BUSY || prim == SQLITE_LOCKED || prim == SQLITE_IOERR
               ? SRV_STORE_UNAVAILABLE
               : SRV_STORE_ERROR;
}

static int exec(struct lite *s, const char *sql)
{
    return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static void rollback(struct lite *s)
{
    if (!sqlite3_get_autocommit(s->db))
        exec(s, "ROLLBACK");
}

/* Prepares `sql`, binding the text and int64 arguments described by `types` ('t', 'i'). */
static int prep(struct lite *s, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    va_list ap;
    va_start(ap, types);
    for (int i = 0; rc == SQLITE_OK && types[i]; i++)
        rc = types[i] == 't'
                 ? sqlite3_bind_text(*st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC)
                 : sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
    va_end(ap);
    return rc;
}

/* Runs a statement that returns at most one integer; *val = it, or `none` if no row. */
static int one_int(struct lite *s, int64_t *val, int64_t none, const char *sql, const char *types,
                   const char *a, int64_t b)
{
    sqlite3_stmt *st = NULL;
    int rc = types[0] ? (types[1] ? prep(s, &st, sql, types, a, b) : prep(s, &st, sql, types, a))
                      : prep(s, &st, sql, "");
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            *val = sqlite3_column_int64(st, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            *val = none;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return rc;
}

static srv_store_status migrate(struct lite *s, char *msg, size_t cap)
{
    srv_store_status rc = SRV_STORE_OK;
    const char *what = "starting the schema migration";
    int64_t have = 0;
    int e = exec(s, "BEGIN IMMEDIATE");
    if (e == SQLITE_OK) {
        what = "creating hwjose_schema";
        e = exec(s, "CREATE TABLE IF NOT EXISTS hwjose_schema (version BIGINT PRIMARY KEY, "
                    "applied_at BIGINT NOT NULL)");
    }
    if (e == SQLITE_OK) {
        what = "reading the schema version";
        e = one_int(s, &have, 0, "SELECT coalesce(max(version), 0) FROM hwjose_schema", "", NULL,
                    0);
    }
    if (e != SQLITE_OK) {
        rc = fail(s, e, what, msg, cap);
        goto out;
    }
    if (have > (int64_t)srv_store_nmigrations) {
        snprintf(msg, cap,
                 "store %s has schema version %lld, newer than this build knows (%zu): upgrade "
                 "hwjose, or point it at another store",
                 s->path, (long long)have, srv_store_nmigrations);
        rc = SRV_STORE_ERROR;
        goto out;
    }
    for (size_t i = (size_t)have; i < srv_store_nmigrations; i++) {
        sqlite3_stmt *st = NULL;
        what = "applying a schema migration";
        if ((e = exec(s, srv_store_migrations[i])) == SQLITE_OK &&
            (e = prep(s, &st, "INSERT INTO hwjose_schema (version, applied_at) VALUES (?1, ?2)",
                      "ii", (int64_t)(i + 1), (int64_t)time(NULL))) == SQLITE_OK)
            e = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
        sqlite3_finalize(st);
        if (e != SQLITE_OK) {
            rc = fail(s, e, what, msg, cap);
            goto out;
        }
    }
    if ((e = exec(s, "COMMIT")) != SQLITE_OK)
        rc = fail(s, e, "committing the schema migration", msg, cap);
out:
    if (rc != SRV_STORE_OK)
        rollback(s);
    return rc;
}

static void lite_close(void *be)
{
    struct lite *s = be;
    if (!s)
        return;
    sqlite3_close_v2(s->db);
    free(s->path);
    free(s);
}

/* The file is created 0600 by us (SQLite would use 0644); its -wal and -shm inherit that. */
static srv_store_status create_file(const char *path, char *msg, size_t cap)
{
    char *copy = strdup(path);
    if (!copy) {
        snprintf(msg, cap, "out of memory opening the store");
        return SRV_STORE_ERROR;
    }
    const char *dir = dirname(copy);
    struct stat sb;
    int dir_ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (!dir_ok) {
        snprintf(msg, cap, "store %s: directory %s does not exist: create it first", path, dir);
        free(copy);
        return SRV_STORE_ERROR;
    }
    free(copy);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(msg, cap, "store %s: cannot open or create it: %s", path, strerror(errno));
        return SRV_STORE_ERROR;
    }
    close(fd);
    return SRV_STORE_OK;
}

static srv_store_status lite_open(const char *url, const char *app_name, void **be, char *msg,
                                  size_t cap)
{
    (void)app_name;
    srv_store_status rc = SRV_STORE_ERROR;
    struct lite *s = calloc(1, sizeof *s);
    const char *path = url + 7;
    int e;
    if (!s || !(s->path = strdup(path))) {
        snprintf(msg, cap, "out of memory opening the store");
        goto out;
    }
    if (!*path) {
        snprintf(msg, cap, "store URL \"sqlite:\" names no file: use sqlite:/path/to/hwjose.db");
        goto out;
    }
    if ((rc = create_file(path, msg, cap)) != SRV_STORE_OK)
        goto out;
    e = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (e != SQLITE_OK) {
        rc = fail(s, e, "opening", msg, cap);
        goto out;
    }
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    if ((e = exec(s, "PRAGMA journal_mode=WAL")) != SQLITE_OK) {
        rc = fail(s, e, "switching to the WAL journal", msg, cap);
        goto out;
    }
    if ((rc = migrate(s, msg, cap)) != SRV_STORE_OK)
        goto out;
    *be = s;
    s = NULL;
out:
    lite_close(s);
    return rc;
}

static srv_store_status lite_generation(void *be, int64_t *gen, char *msg, size_t cap)
{
    struct lite *s = be;
    int64_t g;
    int e = one_int(s, &g, 0, "SELECT generation FROM hwjose_meta WHERE id = 1", "", NULL, 0);
    if (e != SQLITE_OK)
        return fail(s, e, "reading the generation", msg, cap);
    *gen = g;
    return SRV_STORE_OK;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

static srv_store_status lite_list(void *be, const char *key_name, srv_version **out, size_t *n,
                                  char *msg, size_t cap)
{
    struct lite *s = be;
    srv_store_status rc = SRV_STORE_OK;
    srv_version *v = NULL;
    size_t len = 0, alloc = 0;
    sqlite3_stmt *st = NULL;
    int e = prep(s, &st,
                 key_name ? "SELECT key_name, version, uri, kid, alg, jwk, origin, created_by, "
                            "created_at, publish_at, activate_at, retire_at, remove_at FROM "
                            "hwjose_versions WHERE key_name = ?1 ORDER BY key_name, version"
                          : "SELECT key_name, version, uri, kid, alg, jwk, origin, created_by, "
                            "created_at, publish_at, activate_at, retire_at, remove_at FROM "
                            "hwjose_versions ORDER BY key_name, version",
                 key_name ? "t" : "", key_name);
    while (e == SQLITE_OK && (e = sqlite3_step(st)) == SQLITE_ROW) {
        e = SQLITE_OK;
        if (len == alloc) {
            size_t na = alloc ? alloc * 2 : 8;
            srv_version *nv = realloc(v, na * sizeof *v);
            if (!nv) {
                e = SQLITE_NOMEM;
                break;
            }
            v = nv;
            alloc = na;
        }
        srv_version *r = &v[len++];
        *r = (srv_version){.key_name = col_dup(st, 0),
                           .version = sqlite3_column_int64(st, 1),
                           .uri = col_dup(st, 2),
                           .kid = col_dup(st, 3),
                           .alg = col_dup(st, 4),
                           .jwk = col_dup(st, 5),
                           .origin = col_dup(st, 6),
                           .created_by = col_dup(st, 7),
                           .created_at = sqlite3_column_int64(st, 8),
                           .publish_at = sqlite3_column_int64(st, 9),
                           .activate_at = sqlite3_column_int64(st, 10),
                           .retire_at = sqlite3_column_int64(st, 11),
                           .remove_at = sqlite3_column_int64(st, 12)};
        if (!r->key_name || !r->uri || !r->kid || !r->alg || !r->jwk || !r->origin ||
            !r->created_by) {
            e = SQLITE_NOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (e != SQLITE_DONE) {
        rc = fail(s, e, "listing key versions", msg, cap);
        goto out;
    }
    *out = v;
    *n = len;
    v = NULL;
out:
    srv_versions_free(v, len);
    return rc;
}

/* Runs a prepared statement to completion; SQLITE_OK or the error. */
static int run(struct lite *s, sqlite3_stmt **st, int e)
{
    if (e == SQLITE_OK)
        e = sqlite3_step(*st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(s->db);
    sqlite3_finalize(*st);
    *st = NULL;
    return e;
}

static srv_store_status lite_add(void *be, const srv_version *nv, int64_t prev_retire_at,
                                 int64_t prev_remove_at, char *msg, size_t cap)
{
    struct lite *s = be;
    srv_store_status rc = SRV_STORE_OK;
    const char *what = "starting a write";
    int64_t latest = 0, used = 0;
    sqlite3_stmt *st = NULL;
    int e = exec(s, "BEGIN IMMEDIATE");
    if (e == SQLITE_OK) {
        what = "reading the latest version";
        e = one_int(s, &latest, 0,
                    "SELECT coalesce(max(version), 0) FROM hwjose_versions WHERE key_name = ?1",
                    "t", nv->key_name, 0);
    }
    if (e == SQLITE_OK) {
        what = "looking up the kid";
        e = one_int(s, &used, 0, "SELECT version FROM hwjose_versions WHERE kid = ?1", "t", nv->kid,
                    0);
    }
    if (e != SQLITE_OK)
        goto fail;
    if (latest != nv->version - 1) {
        snprintf(msg, cap,
                 "key \"%s\": the latest version is %lld, not %lld: another writer added one; "
                 "re-read the versions and plan again",
                 nv->key_name, (long long)latest, (long long)(nv->version - 1));
        rc = SRV_STORE_CONFLICT;
        goto out;
    }
    if (used) {
        snprintf(msg, cap,
                 "kid \"%s\" is already used by another key version: every version "
                 "needs its own key (and kid)",
                 nv->kid);
        rc = SRV_STORE_ERROR;
        goto out;
    }
    what = "retiring the previous version";
    if (nv->version > 1 &&
        (e = run(s, &st,
                 prep(s, &st,
                      "UPDATE hwjose_versions SET retire_at = ?1, remove_at = ?2 "
                      "WHERE key_name = ?3 AND version = ?4",
                      "iiti", prev_retire_at, prev_remove_at, nv->key_name, latest))) != SQLITE_OK)
        goto fail;
    what = "inserting the version";
    e = run(s, &st,
            prep(s, &st,
                 "INSERT INTO hwjose_versions (key_name, version, uri, kid, alg, jwk, origin, "
                 "created_by, created_at, publish_at, activate_at, retire_at, remove_at) VALUES "
                 "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                 "tittttttiiiii", nv->key_name, nv->version, nv->uri, nv->kid, nv->alg, nv->jwk,
                 nv->origin, nv->created_by, nv->created_at, nv->publish_at, nv->activate_at,
                 nv->retire_at, nv->remove_at));
    if (e != SQLITE_OK)
        goto fail;
    what = "bumping the generation";
    if ((e = exec(s, "UPDATE hwjose_meta SET generation = generation + 1 WHERE id = 1")) !=
            SQLITE_OK ||
        (what = "committing", e = exec(s, "COMMIT")) != SQLITE_OK)
        goto fail;
    goto out;
fail:
    rc = fail(s, e, what, msg, cap);
out:
    if (rc != SRV_STORE_OK)
        rollback(s);
    return rc;
}

static srv_store_status lite_lease(void *be, const char *name, const char *holder,
                                   int64_t expires_at, int64_t now, int *won, char *msg, size_t cap)
{
    struct lite *s = be;
    sqlite3_stmt *st = NULL;
    int e = run(s, &st,
                prep(s, &st,
                     "INSERT INTO hwjose_leases (name, holder, expires_at) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                     "expires_at = excluded.expires_at "
                     "WHERE hwjose_leases.expires_at <= ?4 "
                     "OR hwjose_leases.holder = excluded.holder",
                     "ttii", name, holder, expires_at, now));
    if (e != SQLITE_OK)
        return fail(s, e, "taking a lease", msg, cap);
    *won = sqlite3_changes(s->db) == 1;
    return SRV_STORE_OK;
}

static srv_store_status lite_release(void *be, const char *name, const char *holder, char *msg,
                                     size_t cap)
{
    struct lite *s = be;
    sqlite3_stmt *st = NULL;
    int e = run(s, &st,
                prep(s, &st, "DELETE FROM hwjose_leases WHERE name = ?1 AND holder = ?2", "tt",
                     name, holder));
    return e == SQLITE_OK ? SRV_STORE_OK : fail(s, e, "releasing a lease", msg, cap);
}

static srv_store_status lite_checkpoint(void *be, const char *instance, int64_t seq,
                                        const char *jws, int64_t now, char *msg, size_t cap)
{
    struct lite *s = be;
    sqlite3_stmt *st = NULL;
    int e = run(s, &st,
                prep(s, &st,
                     "INSERT INTO hwjose_audit_checkpoints (instance, seq, jws, written_at) "
                     "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (instance) DO UPDATE SET "
                     "seq = excluded.seq, jws = excluded.jws, written_at = excluded.written_at "
                     "WHERE hwjose_audit_checkpoints.seq < excluded.seq",
                     "titi", instance, seq, jws, now));
    return e == SQLITE_OK ? SRV_STORE_OK : fail(s, e, "recording an audit checkpoint", msg, cap);
}

static srv_store_status lite_checkpoint_seq(void *be, const char *instance, int64_t *seq, char *msg,
                                            size_t cap)
{
    struct lite *s = be;
    int e = one_int(s, seq, -1, "SELECT seq FROM hwjose_audit_checkpoints WHERE instance = ?1", "t",
                    instance, 0);
    return e == SQLITE_OK ? SRV_STORE_OK : fail(s, e, "reading an audit checkpoint", msg, cap);
}

const struct srv_store_ops srv_store_sqlite_ops = {
    .name = "sqlite",
    .match = lite_match,
    .open = lite_open,
    .close = lite_close,
    .generation = lite_generation,
    .list = lite_list,
    .add = lite_add,
    .lease = lite_lease,
    .release = lite_release,
    .checkpoint = lite_checkpoint,
    .checkpoint_seq = lite_checkpoint_seq,
};
