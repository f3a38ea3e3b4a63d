/* store_pg.c: the store in PostgreSQL (`postgresql://...`), shared by a fleet of replicas.
 * Values travel only as parameters (PQexecParams), never inside SQL text. A lost connection is
 * UNAVAILABLE; the next call resets it (PQreset), so a store object outlives a server restart. */
#include "server/store_backend.h"

#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* pg_advisory_xact_lock key that serializes schema migrations ("hwjose" in ASCII). */
#define MIGRATION_LOCK "114914350231397"

struct pg {
    PGconn *conn;
    char url[512]; /* redacted, for messages */
};

/* The library never prints: server notices ("relation already exists, skipping") are dropped. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pg_match(const char *url)
{
    return strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0;
}

/* The server is gone or going (connection class 08, shutdown 57P): UNAVAILABLE, else ERROR. */
static srv_store_status pg_fail(struct pg *s, PGresult *r, const char *what, char *msg, size_t cap)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *text =
        r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r) : PQerrorMessage(s->conn);
    int gone = PQstatus(s->conn) != CONNECTION_OK ||
               (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0));
    snprintf(msg, cap, "store %s: %s failed: %.*s%s", s->url, what, (int)strcspn(text, "\n"), text,
             gone ? " (is the server running and reachable? hwjose reconnects on the next call)"
                  : "");
    return gone ? SRV_STORE_UNAVAILABLE : SRV_STORE_ERROR;
}

/* Resets a broken connection; UNAVAILABLE if the server still cannot be reached. */
static srv_store_status pg_ready(struct pg *s, char *msg, size_t cap)
{
    if (PQstatus(s->conn) == CONNECTION_OK)
        return SRV_STORE_OK;
    PQreset(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK)
        return SRV_STORE_OK;
    return pg_fail(s, NULL, "reconnecting", msg, cap);
}

static PGresult *q(struct pg *s, const char *sql, int n, const char *const *vals)
{
    return PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
}

/* Runs a statement that returns no rows or some rows; 1 if it did as expected. */
static int ok(PGresult *r)
{
    ExecStatusType t = PQresultStatus(r);
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

static void rollback(struct pg *s)
{
    if (PQstatus(s->conn) == CONNECTION_OK && PQtransactionStatus(s->conn) != PQTRANS_IDLE)
        PQclear(PQexec(s->conn, "ROLLBACK"));
}

static int64_t num(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Runs fixed SQL (no values) and reports failure as `what`. */
static srv_store_status cmd(struct pg *s, const char *sql, const char *what, char *msg, size_t cap)
{
    PGresult *r = PQexec(s->conn, sql);
    srv_store_status rc = ok(r) ? SRV_STORE_OK : pg_fail(s, r, what, msg, cap);
    PQclear(r);
    return rc;
}

static srv_store_status migrate(struct pg *s, char *msg, size_t cap)
{
    srv_store_status rc;
    PGresult *r = NULL;
    /* The advisory lock makes a second process starting at once wait, then find it done. */
    if ((rc = cmd(s, "BEGIN", "starting the schema migration", msg, cap)) != SRV_STORE_OK ||
        (rc = cmd(s, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")",
                  "waiting for the migration lock", msg, cap)) != SRV_STORE_OK ||
        (rc = cmd(s,
                  "CREATE TABLE IF NOT EXISTS hwjose_schema (version BIGINT PRIMARY KEY, "
                  "applied_at BIGINT NOT NULL)",
                  "creating hwjose_schema", msg, cap)) != SRV_STORE_OK)
        goto out;
    r = PQexec(s->conn, "SELECT coalesce(max(version), 0) FROM hwjose_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(s, r, "reading the schema version", msg, cap);
        goto out;
    }
    int64_t have = num(r, 0, 0);
    if (have > (int64_t)srv_store_nmigrations) {
        snprintf(msg, cap,
                 "store %s has schema version %" PRId64 ", newer than this build knows (%zu): "
                 "upgrade hwjose, or point it at another store",
                 s->url, have, srv_store_nmigrations);
        rc = SRV_STORE_ERROR;
        goto out;
    }
    for (size_t i = (size_t)have; i < srv_store_nmigrations; i++) {
        char ver[24], at[24];
        snprintf(ver, sizeof ver, "%zu", i + 1);
        snprintf(at, sizeof at, "%lld", (long long)time(NULL));
        const char *vals[] = {ver, at};
        if ((rc = cmd(s, srv_store_migrations[i], "applying a schema migration", msg, cap)) !=
            SRV_STORE_OK)
            goto out;
        PQclear(r);
        r = q(s, "INSERT INTO hwjose_schema (version, applied_at) VALUES ($1, $2)", 2, vals);
        if (!ok(r)) {
            rc = pg_fail(s, r, "recording a schema migration", msg, cap);
            goto out;
        }
    }
    rc = cmd(s, "COMMIT", "committing the schema migration", msg, cap);
out:
    PQclear(r);
    if (rc != SRV_STORE_OK)
        rollback(s);
    return rc;
}

static void pg_close(void *be)
{
    struct pg *s = be;
    if (!s)
        return;
    PQfinish(s->conn);
    free(s);
}

static srv_store_status pg_open(const char *url, const char *app_name, void **be, char *msg,
                                size_t cap)
{
    srv_store_status rc = SRV_STORE_ERROR;
    struct pg *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(msg, cap, "out of memory opening the store");
        goto out;
    }
    srv_store_redact_url(url, s->url, sizeof s->url);
    /* Defaults first: settings in the URL (dbname, expanded last) override them. A background
     * poll must neither hang on a dead peer nor wait forever on a lock. */
    const char *const keys[] = {"connect_timeout",
                                "keepalives",
                                "keepalives_idle",
                                "keepalives_interval",
                                "keepalives_count",
                                "application_name",
                                "options",
                                "dbname",
                                NULL};
    const char *const vals[] = {"5", "1", "30", "10", "3", app_name, "-c statement_timeout=15000",
                                url, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn) {
        snprintf(msg, cap, "out of memory connecting to the store");
        goto out;
    }
    PQsetNoticeProcessor(s->conn, quiet, NULL);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        rc = pg_fail(s, NULL, "connecting", msg, cap);
        goto out;
    }
    if ((rc = migrate(s, msg, cap)) != SRV_STORE_OK)
        goto out;
    *be = s;
    s = NULL;
out:
    pg_close(s);
    return rc;
}

static srv_store_status pg_generation(void *be, int64_t *gen, char *msg, size_t cap)
{
    struct pg *s = be;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    PGresult *r = PQexec(s->conn, "SELECT generation FROM hwjose_meta WHERE id = 1");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        *gen = num(r, 0, 0);
    else
        rc = pg_fail(s, r, "reading the generation", msg, cap);
    PQclear(r);
    return rc;
}

static srv_store_status pg_list(void *be, const char *key_name, srv_version **out, size_t *n,
                                char *msg, size_t cap)
{
    struct pg *s = be;
    srv_version *v = NULL;
    size_t len = 0;
    PGresult *r = NULL;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        goto out;
    r = q(s,
          "SELECT key_name, version, uri, kid, alg, jwk, origin, created_by, created_at, "
          "publish_at, activate_at, retire_at, remove_at FROM hwjose_versions "
          "WHERE $1::text IS NULL OR key_name = $1 ORDER BY key_name, version",
          1, &key_name);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(s, r, "listing key versions", msg, cap);
        goto out;
    }
    int rows = PQntuples(r);
    if (rows > 0 && !(v = calloc((size_t)rows, sizeof *v))) {
        snprintf(msg, cap, "out of memory listing key versions");
        rc = SRV_STORE_ERROR;
        goto out;
    }
    for (int i = 0; i < rows; i++, len++) {
        srv_version *x = &v[i];
        *x = (srv_version){.key_name = strdup(PQgetvalue(r, i, 0)),
                           .version = num(r, i, 1),
                           .uri = strdup(PQgetvalue(r, i, 2)),
                           .kid = strdup(PQgetvalue(r, i, 3)),
                           .alg = strdup(PQgetvalue(r, i, 4)),
                           .jwk = strdup(PQgetvalue(r, i, 5)),
                           .origin = strdup(PQgetvalue(r, i, 6)),
                           .created_by = strdup(PQgetvalue(r, i, 7)),
                           .created_at = num(r, i, 8),
                           .publish_at = num(r, i, 9),
                           .activate_at = num(r, i, 10),
                           .retire_at = num(r, i, 11),
                           .remove_at = num(r, i, 12)};
        if (!x->key_name || !x->uri || !x->kid || !x->alg || !x->jwk || !x->origin ||
            !x->created_by) {
            len++;
            snprintf(msg, cap, "out of memory listing key versions");
            rc = SRV_STORE_ERROR;
            goto out;
        }
    }
    *out = v;
    *n = len;
    v = NULL;
out:
    PQclear(r);
    srv_versions_free(v, len);
    return rc;
}

static srv_store_status pg_add(void *be, const srv_version *nv, int64_t prev_retire_at,
                               int64_t prev_remove_at, char *msg, size_t cap)
{
    struct pg *s = be;
    PGresult *r = NULL;
    char num_s[8][24];
    const int64_t nums[8] = {nv->version,   nv->created_at, nv->publish_at, nv->activate_at,
                             nv->retire_at, nv->remove_at,  prev_retire_at, prev_remove_at};
    for (int i = 0; i < 8; i++)
        snprintf(num_s[i], sizeof num_s[i], "%" PRId64, nums[i]);
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        goto out;
    /* The generation row is updated first: its row lock queues concurrent writers, and each
     * statement after it sees what the writer before committed (READ COMMITTED). */
    if ((rc = cmd(s, "BEGIN", "starting a write", msg, cap)) != SRV_STORE_OK ||
        (rc = cmd(s, "UPDATE hwjose_meta SET generation = generation + 1 WHERE id = 1",
                  "bumping the generation", msg, cap)) != SRV_STORE_OK)
        goto out;
    const char *latest_vals[] = {nv->key_name};
    r = q(s, "SELECT coalesce(max(version), 0) FROM hwjose_versions WHERE key_name = $1", 1,
          latest_vals);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(s, r, "reading the latest version", msg, cap);
        goto out;
    }
    int64_t latest = num(r, 0, 0);
    if (latest != nv->version - 1) {
        snprintf(msg, cap,
                 "key \"%s\": the latest version is %" PRId64 ", not %" PRId64 ": another writer "
                 "added one; re-read the versions and plan again",
                 nv->key_name, latest, nv->version - 1);
        rc = SRV_STORE_CONFLICT;
        goto out;
    }
    PQclear(r);
    const char *kid_vals[] = {nv->kid};
    r = q(s, "SELECT 1 FROM hwjose_versions WHERE kid = $1", 1, kid_vals);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(s, r, "looking up the kid", msg, cap);
        goto out;
    }
    if (PQntuples(r) > 0) {
        snprintf(msg, cap,
                 "kid \"%s\" is already used by another key version: every version "
                 "needs its own key (and kid)",
                 nv->kid);
        rc = SRV_STORE_ERROR;
        goto out;
    }
    PQclear(r);
    r = NULL;
    if (nv->version > 1) {
        char prev[24];
        snprintf(prev, sizeof prev, "%" PRId64, latest);
        const char *vals[] = {num_s[6], num_s[7], nv->key_name, prev};
        r = q(s,
              "UPDATE hwjose_versions SET retire_at = $1, remove_at = $2 "
              "WHERE key_name = $3 AND version = $4",
              4, vals);
        if (!ok(r)) {
            rc = pg_fail(s, r, "retiring the previous version", msg, cap);
            goto out;
        }
        PQclear(r);
    }
    const char *ins[] = {nv->key_name, num_s[0],   nv->uri,        nv->kid,  nv->alg,
                         nv->jwk,      nv->origin, nv->created_by, num_s[1], num_s[2],
                         num_s[3],     num_s[4],   num_s[5]};
    r = q(s,
          "INSERT INTO hwjose_versions (key_name, version, uri, kid, alg, jwk, origin, created_by, "
          "created_at, publish_at, activate_at, retire_at, remove_at) VALUES "
          "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
          13, ins);
    if (!ok(r)) {
        /* A unique violation here is a race the checks above should have closed. */
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        const char *cons = PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
        if (state && strcmp(state, "23505") == 0 && cons &&
            strcmp(cons, "hwjose_versions_pkey") == 0) {
            snprintf(msg, cap,
                     "key \"%s\": version %" PRId64 " was added by another writer; "
                     "re-read the versions and plan again",
                     nv->key_name, nv->version);
            rc = SRV_STORE_CONFLICT;
        } else {
            rc = pg_fail(s, r, "inserting the version", msg, cap);
        }
        goto out;
    }
    rc = cmd(s, "COMMIT", "committing", msg, cap);
out:
    PQclear(r);
    if (rc != SRV_STORE_OK)
        rollback(s);
    return rc;
}

static srv_store_status pg_lease(void *be, const char *name, const char *holder, int64_t expires_at,
                                 int64_t now, int *won, char *msg, size_t cap)
{
    struct pg *s = be;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    char exp[24], nows[24];
    snprintf(exp, sizeof exp, "%" PRId64, expires_at);
    snprintf(nows, sizeof nows, "%" PRId64, now);
    const char *vals[] = {name, holder, exp, nows};
    PGresult *r = q(s,
                    "INSERT INTO hwjose_leases AS l (name, holder, expires_at) VALUES ($1, $2, $3) "
                    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                    "expires_at = excluded.expires_at "
                    "WHERE l.expires_at <= $4 OR l.holder = excluded.holder",
                    4, vals);
    if (ok(r))
        *won = strcmp(PQcmdTuples(r), "1") == 0;
    else
        rc = pg_fail(s, r, "taking a lease", msg, cap);
    PQclear(r);
    return rc;
}

static srv_store_status pg_release(void *be, const char *name, const char *holder, char *msg,
                                   size_t cap)
{
    struct pg *s = be;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    const char *vals[] = {name, holder};
    PGresult *r = q(s, "DELETE FROM hwjose_leases WHERE name = $1 AND holder = $2", 2, vals);
    if (!ok(r))
        rc = pg_fail(s, r, "releasing a lease", msg, cap);
    PQclear(r);
    return rc;
}

static srv_store_status pg_checkpoint(void *be, const char *instance, int64_t seq, const char *jws,
                                      int64_t now, char *msg, size_t cap)
{
    struct pg *s = be;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    char seqs[24], nows[24];
    snprintf(seqs, sizeof seqs, "%" PRId64, seq);
    snprintf(nows, sizeof nows, "%" PRId64, now);
    const char *vals[] = {instance, seqs, jws, nows};
    PGresult *r = q(s,
                    "INSERT INTO hwjose_audit_checkpoints AS c (instance, seq, jws, written_at) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (instance) DO UPDATE SET "
                    "seq = excluded.seq, jws = excluded.jws, written_at = excluded.written_at "
                    "WHERE c.seq < excluded.seq",
                    4, vals);
    if (!ok(r))
        rc = pg_fail(s, r, "recording an audit checkpoint", msg, cap);
    PQclear(r);
    return rc;
}

static srv_store_status pg_checkpoint_seq(void *be, const char *instance, int64_t *seq, char *msg,
                                          size_t cap)
{
    struct pg *s = be;
    srv_store_status rc = pg_ready(s, msg, cap);
    if (rc != SRV_STORE_OK)
        return rc;
    const char *vals[] = {instance};
    PGresult *r = q(s, "SELECT seq FROM hwjose_audit_checkpoints WHERE instance = $1", 1, vals);
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        *seq = PQntuples(r) == 1 ? num(r, 0, 0) : -1;
    else
        rc = pg_fail(s, r, "reading an audit checkpoint", msg, cap);
    PQclear(r);
    return rc;
}

const struct srv_store_ops srv_store_pg_ops = {
    .name = "postgresql",
    .match = pg_match,
    .open = pg_open,
    .close = pg_close,
    .generation = pg_generation,
    .list = pg_list,
    .add = pg_add,
    .lease = pg_lease,
    .release = pg_release,
    .checkpoint = pg_checkpoint,
    .checkpoint_seq = pg_checkpoint_seq,
};
