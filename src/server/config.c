/* config.c: the service's JSON config, validated with errors that name the member
 * ("config keys[2].alg: ..."). Unknown members are rejected so that a typo never silently
 * weakens a control. A key here is a policy; its versions live in the state store. */
#include "server/config_read.h"

#include "core/json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int srv_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return strcmp(host, "localhost") == 0;
}

/* Members of `obj` must all be in the NULL-terminated `allowed` list. */
static int parse_listen(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    char *listen = NULL;
    if (cfg_get_str(root, "listen", "", 1, &listen, msg, msglen))
        return -1;
    char *colon = strrchr(listen, ':');
    char *host = listen;
    if (!colon || colon == listen || !colon[1])
        goto bad;
    *colon = '\0';
    if (host[0] == '[') { /* [::1]:8443 */
        size_t n = strlen(host);
        if (n < 3 || host[n - 1] != ']')
            goto bad;
        host[n - 1] = '\0';
        host++;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 0 || port > 65535)
        goto bad;
    cfg->listen_host = strdup(host);
    cfg->port = (unsigned short)port;
    free(listen);
    return cfg->listen_host ? 0 : PERR("out of memory");
bad:
    free(listen);
    return PERR("config listen: must be HOST:PORT (\"127.0.0.1:8443\", \"[::1]:8443\")");
}

static int parse_tls(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    static const char *const allowed[] = {"cert", "key", "client_ca", "mtls", NULL};
    json_t *tls = json_object_get(root, "tls");
    char *mtls = NULL;
    if (!tls)
        return 0;
    if (!json_is_object(tls))
        return PERR("config tls: must be an object");
    if (cfg_check_members(tls, "tls", allowed, msg, msglen) ||
        cfg_get_str(tls, "cert", "tls", 1, &cfg->tls_cert, msg, msglen) ||
        cfg_get_str(tls, "key", "tls", 1, &cfg->tls_key, msg, msglen) ||
        cfg_get_str(tls, "client_ca", "tls", 0, &cfg->tls_client_ca, msg, msglen) ||
        cfg_get_str(tls, "mtls", "tls", 0, &mtls, msg, msglen))
        return -1;
    int rc = 0;
    if (!mtls || strcmp(mtls, "off") == 0)
        cfg->mtls = SRV_MTLS_OFF;
    else if (strcmp(mtls, "optional") == 0)
        cfg->mtls = SRV_MTLS_OPTIONAL;
    else if (strcmp(mtls, "required") == 0)
        cfg->mtls = SRV_MTLS_REQUIRED;
    else
        rc = PERR("config tls.mtls: must be one of off|optional|required");
    free(mtls);
    if (!rc && cfg->mtls != SRV_MTLS_OFF && !cfg->tls_client_ca)
        rc = PERR("config tls.client_ca: required when tls.mtls is on");
    return rc;
}

static int parse_hex32(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
            sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int parse_client(srv_config *cfg, srv_client_conf *c, json_t *o, const char *where,
                        char *msg, size_t msglen)
{
    static const char *const allowed[] = {"name", "token_sha256", "mtls_subject", "permissions",
                                          NULL};
    char *tok = NULL;
    int rc = -1;
    char sub[160];
    if (!json_is_object(o))
        return PERR("config %s: must be an object", where);
    if (cfg_check_members(o, where, allowed, msg, msglen) ||
        cfg_get_str(o, "name", where, 1, &c->name, msg, msglen) ||
        cfg_get_str(o, "token_sha256", where, 0, &tok, msg, msglen) ||
        cfg_get_str(o, "mtls_subject", where, 0, &c->mtls_subject, msg, msglen))
        goto out;
    if (tok) {
        if (parse_hex32(tok, c->token_sha256)) {
            PERR("config %s.token_sha256: must be 64 hex digits (sha256sum of the token)", where);
            goto out;
        }
        c->has_token = 1;
    }
    if (!tok && !c->mtls_subject) {
        PERR("config %s: needs token_sha256 or mtls_subject", where);
        goto out;
    }
    c->perms = calloc(cfg->nkeys ? cfg->nkeys : 1, sizeof(unsigned));
    if (!c->perms) {
        PERR("out of memory");
        goto out;
    }
    json_t *perms = json_object_get(o, "permissions");
    if (!perms || !json_is_object(perms)) {
        PERR("config %s.permissions: required, an object {\"KEY or *\": [\"jwt\", \"sign\", "
             "\"decrypt\"]}",
             where);
        goto out;
    }
    const char *kname;
    json_t *list;
    json_object_foreach(perms, kname, list)
    {
        snprintf(sub, sizeof(sub), "%s.permissions.%s", where, kname);
        size_t ki = cfg->nkeys;
        if (strcmp(kname, "*") != 0) {
            for (ki = 0; ki < cfg->nkeys; ki++)
                if (strcmp(cfg->keys[ki].name, kname) == 0)
                    break;
            if (ki == cfg->nkeys) {
                PERR("config %s: no key named '%s' in keys", sub, kname);
                goto out;
            }
        }
        if (!json_is_array(list)) {
            PERR("config %s: must be an array of jwt|sign|decrypt|rotate", sub);
            goto out;
        }
        unsigned bits = 0;
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p)
        {
            const char *s = json_string_value(p);
            if (s && strcmp(s, "jwt") == 0)
                bits |= SRV_PERM_JWT;
            else if (s && strcmp(s, "sign") == 0)
                bits |= SRV_PERM_SIGN;
            else if (s && strcmp(s, "decrypt") == 0)
                bits |= SRV_PERM_DECRYPT;
            else if (s && strcmp(s, "rotate") == 0)
                bits |= SRV_PERM_ROTATE;
            else {
                PERR("config %s[%zu]: must be one of jwt|sign|decrypt|rotate", sub, i);
                goto out;
            }
        }
        if (ki == cfg->nkeys) {
            for (size_t j = 0; j < cfg->nkeys; j++)
                c->perms[j] |= bits;
        } else {
            c->perms[ki] |= bits;
        }
    }
    rc = 0;
out:
    free(tok);
    return rc;
}

/* A key signs JWTs (claims it checks) or arbitrary payloads, not both: a raw signature over a
 * set of claims would pass as this key's JWT wherever verifiers do not pin typ (RFC 8725
 * §3.12, distinct keys for distinct kinds of JWS). */
static int check_jwt_sign(const srv_config *cfg, char *msg, size_t msglen)
{
    for (size_t k = 0; k < cfg->nkeys; k++) {
        const srv_client_conf *jwt = NULL, *sign = NULL;
        for (size_t c = 0; c < cfg->nclients; c++) {
            if (!jwt && (cfg->clients[c].perms[k] & SRV_PERM_JWT))
                jwt = &cfg->clients[c];
            if (!sign && (cfg->clients[c].perms[k] & SRV_PERM_SIGN))
                sign = &cfg->clients[c];
        }
        if (jwt && sign)
            return PERR("config clients: key '%s' is granted \"jwt\" (client '%s') and \"sign\" "
                        "(client '%s'); a key serves either JWT or raw-signing clients, since a "
                        "raw signature over a set of claims would pass as its JWT where verifiers "
                        "do not pin typ (RFC 8725 section 3.12): use a separate key for /sign",
                        cfg->keys[k].name, jwt->name, sign->name);
    }
    return 0;
}

/* The audit file's rotation, its seal (checkpoints) and the denial summaries (docs/audit.md). */
static int parse_audit_seal(srv_config *cfg, json_t *audit, char *msg, size_t msglen)
{
    long long v;
    if (cfg_get_int(audit, "max_bytes", "audit", 0, 0, INT64_MAX, &v, msg, msglen))
        return -1;
    cfg->audit_max_bytes = v;
    if (cfg_get_int(audit, "keep", "audit", 0, 0, 1000000, &v, msg, msglen))
        return -1;
    cfg->audit_keep = (unsigned)v;
    if (cfg_get_int(audit, "checkpoint_records", "audit", 1000, 0, 100000000, &v, msg, msglen))
        return -1;
    cfg->audit_checkpoint_records = (unsigned)v;
    return cfg_get_str(audit, "key", "audit", 0, &cfg->audit_key, msg, msglen) ||
                   cfg_get_bool(audit, "insecure_software_key", "audit", 0,
                                &cfg->audit_insecure_software_key, msg, msglen) ||
                   cfg_get_duration(audit, "checkpoint_interval", "audit", 60,
                                    &cfg->audit_checkpoint_seconds, msg, msglen) ||
                   cfg_get_duration(audit, "denial_interval", "audit", 60,
                                    &cfg->audit_denial_seconds, msg, msglen)
               ? -1
               : 0;
}

static int parse_limits(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    static const char *const allowed[] = {"max_body_bytes", "timeout_seconds", "max_connections",
                                          NULL};
    json_t *l = json_object_get(root, "limits");
    long long v;
    if (l && !json_is_object(l))
        return PERR("config limits: must be an object");
    if (!l)
        l = json_object(); /* defaults */
    else
        json_incref(l);
    int rc = -1;
    if (cfg_check_members(l, "limits", allowed, msg, msglen) ||
        cfg_get_int(l, "max_body_bytes", "limits", 65536, 256, 1 << 24, &v, msg, msglen))
        goto out;
    cfg->max_body = (size_t)v;
    if (cfg_get_int(l, "timeout_seconds", "limits", 10, 1, 3600, &v, msg, msglen))
        goto out;
    cfg->timeout_seconds = (int)v;
    if (cfg_get_int(l, "max_connections", "limits", 512, 1, 1000000, &v, msg, msglen))
        goto out;
    cfg->max_connections = (unsigned)v;
    rc = 0;
out:
    json_decref(l);
    return rc;
}

static int parse_root(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    static const char *const allowed[] = {
        "listen",       "tls",        "allow_plain_http_non_loopback",
        "workers",      "keys",       "clients",
        "limits",       "audit",      "metrics_public",
        "jwks_max_age", "store",      "store_refresh",
        "instance",     "access_log", NULL};
    static const char *const audit_allowed[] = {"path",
                                                "fsync",
                                                "max_bytes",
                                                "keep",
                                                "key",
                                                "insecure_software_key",
                                                "checkpoint_records",
                                                "checkpoint_interval",
                                                "denial_interval",
                                                NULL};
    long long v;
    char where[64];
    if (!json_is_object(root))
        return PERR("config: must be a JSON object");
    if (cfg_check_members(root, "", allowed, msg, msglen) || parse_listen(cfg, root, msg, msglen) ||
        parse_tls(cfg, root, msg, msglen) ||
        cfg_get_bool(root, "allow_plain_http_non_loopback", "", 0,
                     &cfg->allow_plain_http_non_loopback, msg, msglen) ||
        cfg_get_bool(root, "metrics_public", "", 0, &cfg->metrics_public, msg, msglen) ||
        cfg_get_bool(root, "access_log", "", 1, &cfg->access_log, msg, msglen) ||
        cfg_get_int(root, "workers", "", 2, 1, 256, &v, msg, msglen))
        return -1;
    cfg->workers = (unsigned)v;
    if (cfg_get_int(root, "jwks_max_age", "", 300, 0, 86400, &v, msg, msglen))
        return -1;
    cfg->jwks_max_age = (int)v;
    if (!cfg->tls_cert && !cfg->allow_plain_http_non_loopback &&
        !srv_host_is_loopback(cfg->listen_host))
        return PERR("config listen: plain HTTP on the non-loopback address '%s' is refused; "
                    "configure tls, or set allow_plain_http_non_loopback (only behind a "
                    "TLS-terminating proxy on a trusted network)",
                    cfg->listen_host);
    if (parse_limits(cfg, root, msg, msglen))
        return -1;

    json_t *audit = json_object_get(root, "audit");
    if (!audit || !json_is_object(audit))
        return PERR("config audit: required, an object {\"path\": FILE}");
    if (cfg_check_members(audit, "audit", audit_allowed, msg, msglen) ||
        cfg_get_str(audit, "path", "audit", 1, &cfg->audit_path, msg, msglen) ||
        cfg_get_bool(audit, "fsync", "audit", 1, &cfg->audit_fsync, msg, msglen) ||
        parse_audit_seal(cfg, audit, msg, msglen))
        return -1;

    if (cfg_parse_store(cfg, root, msg, msglen))
        return -1;
    json_t *keys = json_object_get(root, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0)
        return PERR("config keys: required, a non-empty array");
    cfg->keys = calloc(json_array_size(keys), sizeof(*cfg->keys));
    if (!cfg->keys)
        return PERR("out of memory");
    for (size_t i = 0; i < json_array_size(keys); i++) {
        snprintf(where, sizeof(where), "keys[%zu]", i);
        cfg->nkeys = i + 1;
        if (cfg_parse_key(&cfg->keys[i], json_array_get(keys, i), where, cfg->jwks_max_age, msg,
                          msglen) ||
            cfg_check_timing(cfg, &cfg->keys[i], where, msg, msglen))
            return -1;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->keys[j].name, cfg->keys[i].name) == 0)
                return PERR("config %s.name: '%s' is already used by keys[%zu]", where,
                            cfg->keys[i].name, j);
    }

    json_t *clients = json_object_get(root, "clients");
    if (!json_is_array(clients))
        return PERR("config clients: required, an array");
    cfg->clients = calloc(json_array_size(clients) + 1, sizeof(*cfg->clients));
    if (!cfg->clients)
        return PERR("out of memory");
    for (size_t i = 0; i < json_array_size(clients); i++) {
        snprintf(where, sizeof(where), "clients[%zu]", i);
        cfg->nclients = i + 1;
        if (parse_client(cfg, &cfg->clients[i], json_array_get(clients, i), where, msg, msglen))
            return -1;
        if (cfg->clients[i].mtls_subject && cfg->mtls == SRV_MTLS_OFF)
            return PERR("config %s.mtls_subject: tls.mtls is off", where);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->clients[j].name, cfg->clients[i].name) == 0)
                return PERR("config %s.name: '%s' is already used by clients[%zu]", where,
                            cfg->clients[i].name, j);
            if (cfg->clients[i].has_token && cfg->clients[j].has_token &&
                memcmp(cfg->clients[i].token_sha256, cfg->clients[j].token_sha256, 32) == 0)
                return PERR("config %s.token_sha256: the same token as clients[%zu]", where, j);
        }
    }
    return check_jwt_sign(cfg, msg, msglen);
}

int srv_config_load(const char *path, srv_config **out, char *msg, size_t msglen)
{
    json_error_t jerr;
    srv_config *cfg = NULL;
    /* "-": stdin (`hwjose serve --check-config -`). */
    json_t *root = strcmp(path, "-") == 0 ? json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr)
                                          : json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return PERR("config %s: line %d: %s", path, jerr.line, jerr.text);
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        json_decref(root);
        return PERR("out of memory");
    }
    atomic_init(&cfg->refs, 1);
    int rc = parse_root(cfg, root, msg, msglen);
    json_decref(root);
    if (rc) {
        srv_config_free(cfg);
        return -1;
    }
    *out = cfg;
    return 0;
}

srv_config *srv_config_ref(srv_config *cfg)
{
    atomic_fetch_add(&cfg->refs, 1);
    return cfg;
}

void srv_config_free(srv_config *cfg)
{
    if (!cfg || atomic_fetch_sub(&cfg->refs, 1) != 1)
        return;
    for (size_t i = 0; i < cfg->nkeys; i++) {
        srv_key_conf *k = &cfg->keys[i];
        free(k->name);
        free(k->uri);
        free(k->generate);
        free(k->iss);
        free(k->dpop_htu);
        for (size_t j = 0; j < k->naud; j++)
            free(k->aud[j]);
        free(k->aud);
    }
    for (size_t i = 0; i < cfg->nclients; i++) {
        free(cfg->clients[i].name);
        free(cfg->clients[i].mtls_subject);
        free(cfg->clients[i].perms);
    }
    free(cfg->keys);
    free(cfg->clients);
    free(cfg->listen_host);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    free(cfg->tls_client_ca);
    free(cfg->audit_path);
    free(cfg->audit_key);
    free(cfg->store_url);
    free(cfg->instance);
    free(cfg);
}
