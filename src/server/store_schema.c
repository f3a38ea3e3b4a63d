/* store_schema.c: what the store's front (store.c) and its backends (store_sqlite.c,
 * store_pg.c) share, below all of them: the schema migrations, freeing version records, and
 * quoting a store URL without its password. */
#include "server/store_backend.h"

#include <stdlib.h>
#include <string.h>

/* Migration 1: the versions, the change counter, the leases. Migration 2: each replica's newest
 * audit checkpoint (docs/audit.md), kept off the audit log's disk. */
const char *const srv_store_migrations[] = {
    "CREATE TABLE hwjose_meta ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " generation BIGINT NOT NULL);"
    "INSERT INTO hwjose_meta (id, generation) VALUES (1, 0);"
    "CREATE TABLE hwjose_versions ("
    " key_name TEXT NOT NULL,"
    " version BIGINT NOT NULL CHECK (version >= 1),"
    " uri TEXT NOT NULL,"
    " kid TEXT NOT NULL CONSTRAINT hwjose_versions_kid UNIQUE,"
    " alg TEXT NOT NULL,"
    " jwk TEXT NOT NULL,"
    " origin TEXT NOT NULL CHECK (origin IN ('generated', 'imported')),"
    " created_by TEXT NOT NULL,"
    " created_at BIGINT NOT NULL,"
    " publish_at BIGINT NOT NULL,"
    " activate_at BIGINT NOT NULL,"
    " retire_at BIGINT NOT NULL DEFAULT 0,"
    " remove_at BIGINT NOT NULL DEFAULT 0,"
    " CONSTRAINT hwjose_versions_pkey PRIMARY KEY (key_name, version));"
    "CREATE TABLE hwjose_leases ("
    " name TEXT PRIMARY KEY,"
    " holder TEXT NOT NULL,"
    " expires_at BIGINT NOT NULL);",
    "CREATE TABLE hwjose_audit_checkpoints ("
    " instance TEXT PRIMARY KEY,"
    " seq BIGINT NOT NULL,"
    " jws TEXT NOT NULL,"
    " written_at BIGINT NOT NULL);",
};
const size_t srv_store_nmigrations = sizeof srv_store_migrations / sizeof srv_store_migrations[0];

void srv_store_redact_url(const char *url, char *out, size_t cap)
{
    if (cap == 0)
        return;
    size_t o = 0;
    const char *p = url;
    const char *auth = strstr(url, "://");
    const char *at = NULL;
    if (auth) {
        auth += 3;
        size_t hostlen = strcspn(auth, "/?#");
        const char *a = memchr(auth, '@', hostlen);
        /* the last '@' before the path ends the userinfo */
        while (a) {
            at = a;
            a = memchr(a + 1, '@', (size_t)(auth + hostlen - (a + 1)));
        }
    }
    while (*p && o + 1 < cap) {
        if (at && p == auth) {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            const char *end = colon ? colon : at;
            for (; p < end && o + 1 < cap; p++)
                out[o++] = *p;
            if (colon)
                for (const char *s = ":***"; *s && o + 1 < cap; s++)
                    out[o++] = *s;
            p = at;
            continue;
        }
        if (strncmp(p, "password=", 9) == 0 &&
            (p == url || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ')) {
            for (const char *s = "password=***"; *s && o + 1 < cap; s++)
                out[o++] = *s;
            p += 9;
            p += strcspn(p, "& ");
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}

void srv_versions_free(srv_version *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free(v[i].key_name);
        free(v[i].uri);
        free(v[i].kid);
        free(v[i].alg);
        free(v[i].jwk);
        free(v[i].origin);
        free(v[i].created_by);
    }
    free(v);
}
