/* config.c: the service's JSON config, validated with errors that name the member
 * ("config keys[2].alg: ..."). Unknown members are rejected so that a typo never silently
 * weakens a control. A key here is a policy; its versions live in the state store. */
#include "server/server.h"

#include "core/json.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int perr(char *msg, size_t msglen, const char *fmt, ...) HWJ_PRINTF(3, 4);
static int perr(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return -1;
}
#define PERR(...) perr(msg, msglen, __VA_ARGS__)

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
static int check_members(json_t *obj, const char *where, const char *const *allowed, char *msg,
                         size_t msglen)
{
    const char *k = hwj_json_unknown_member(obj, allowed);
    return k ? PERR("config %s%s%s: unknown member", where, *where ? "." : "", k) : 0;
}

static int get_str(json_t *obj, const char *name, const char *where, int required, char **out,
                   char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    *out = NULL;
    if (!v) {
        if (required)
            return PERR("config %s%s%s: required", where, *where ? "." : "", name);
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) == 0)
        return PERR("config %s%s%s: must be a non-empty string", where, *where ? "." : "", name);
    *out = strdup(json_string_value(v));
    return *out ? 0 : PERR("out of memory");
}

static int get_bool(json_t *obj, const char *name, const char *where, int dflt, int *out, char *msg,
                    size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return PERR("config %s%s%s: must be true or false", where, *where ? "." : "", name);
    *out = json_is_true(v);
    return 0;
}

static int get_int(json_t *obj, const char *name, const char *where, long long dflt, long long min,
                   long long max, long long *out, char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return PERR("config %s%s%s: must be an integer from %lld to %lld", where, *where ? "." : "",
                    name, min, max);
    *out = json_integer_value(v);
    return 0;
}

/* A duration: an integer of seconds or "90s", "15m", "12h", "7d". */
static int get_duration(json_t *obj, const char *name, const char *where, int64_t dflt,
                        int64_t *out, char *msg, size_t msglen)
{
    json_t *v = json_object_get(obj, name);
    const int64_t max = 366LL * 86400;
    if (!v) {
        *out = dflt;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)s[0]))
            goto bad;
        long long n = strtoll(s, &end, 10);
        int64_t mul = 1;
        if (errno || n > max)
            goto bad;
        if (*end) {
            switch (*end) {
            case 's': mul = 1; break;
            case 'm': mul = 60; break;
            case 'h': mul = 3600; break;
            case 'd': mul = 86400; break;
            default: goto bad;
            }
            if (end[1])
                goto bad;
        }
        *out = n * mul;
    } else {
        goto bad;
    }
    if (*out <= 0 || *out > max)
        goto bad;
    return 0;
bad:
    return PERR("config %s.%s: must be a duration from 1s to 366d (seconds, or \"90s\", "
                "\"15m\", \"12h\", \"7d\")",
                where, name);
}

static int parse_listen(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    char *listen = NULL;
    if (get_str(root, "listen", "", 1, &listen, msg, msglen))
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
    if (check_members(tls, "tls", allowed, msg, msglen) ||
        get_str(tls, "cert", "tls", 1, &cfg->tls_cert, msg, msglen) ||
        get_str(tls, "key", "tls", 1, &cfg->tls_key, msg, msglen) ||
        get_str(tls, "client_ca", "tls", 0, &cfg->tls_client_ca, msg, msglen) ||
        get_str(tls, "mtls", "tls", 0, &mtls, msg, msglen))
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

/* A key URI (or URI template) from the config: no pin-value in any letter case. */
static int check_uri(const char *uri, const char *where, const char *name, char *msg, size_t msglen)
{
    for (const char *p = uri; *p; p++)
        if (strncasecmp(p, "pin-value", 9) == 0)
            return PERR("config %s.%s: pin-value is refused (use pin-source=file:... or "
                        "HWJOSE_PIN)",
                        where, name);
    return 0;
}

static int parse_key(srv_key_conf *k, json_t *o, const char *where, int64_t jwks_max_age, char *msg,
                     size_t msglen)
{
    static const char *const allowed[] = {
        "name",        "uri",    "generate", "alg", "ttl", "max_ttl", "rotation_period",
        "propagation", "leeway", "iss",      "aud", NULL};
    char *alg = NULL;
    int rc = -1;
    if (!json_is_object(o))
        return PERR("config %s: must be an object", where);
    if (json_object_get(o, "state"))
        return PERR("config %s.state: key states now come from versions in the store; remove "
                    "\"state\" (the key's uri becomes its version 1) and rotate with POST "
                    "/v1/keys/NAME/rotate or `hwjose keys rotate` (docs/rotation.md)",
                    where);
    if (check_members(o, where, allowed, msg, msglen) ||
        get_str(o, "name", where, 1, &k->name, msg, msglen) ||
        get_str(o, "uri", where, 0, &k->uri, msg, msglen) ||
        get_str(o, "generate", where, 0, &k->generate, msg, msglen) ||
        get_str(o, "alg", where, 1, &alg, msg, msglen) ||
        get_str(o, "iss", where, 0, &k->iss, msg, msglen) ||
        get_duration(o, "ttl", where, 900, &k->ttl, msg, msglen))
        goto out;
    if (get_duration(o, "max_ttl", where, k->ttl, &k->max_ttl, msg, msglen) ||
        get_duration(o, "propagation", where, jwks_max_age > 0 ? jwks_max_age : 1, &k->propagation,
                     msg, msglen) ||
        get_duration(o, "leeway", where, 60, &k->leeway, msg, msglen))
        goto out;
    if (json_object_get(o, "rotation_period") &&
        get_duration(o, "rotation_period", where, 0, &k->rotation_period, msg, msglen))
        goto out;
    if (k->max_ttl < k->ttl) {
        PERR("config %s.max_ttl: must be at least ttl", where);
        goto out;
    }
    for (const char *c = k->name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-' && *c != '_' && *c != '.') {
            PERR("config %s.name: only letters, digits, '-', '_' and '.' are allowed", where);
            goto out;
        }
    if (!k->uri && !k->generate) {
        PERR("config %s: give \"generate\" (where new versions are made, e.g. "
             "\"pkcs11:token=T;object=%s-v{version}?pin-source=file:PIN\") or \"uri\" (an "
             "existing key, imported as version 1)",
             where, k->name);
        goto out;
    }
    if (k->rotation_period && !k->generate) {
        PERR("config %s.rotation_period: needs \"generate\" (where new versions are made)", where);
        goto out;
    }
    if ((k->uri && check_uri(k->uri, where, "uri", msg, msglen)) ||
        (k->generate && check_uri(k->generate, where, "generate", msg, msglen)))
        goto out;
    if (k->generate && !strstr(k->generate, "{version}")) {
        PERR("config %s.generate: must contain {version}, so that each version gets its own "
             "object",
             where);
        goto out;
    }
    k->alg = hwj_alg_from_name(alg);
    if (hwj_alg_get_kind(k->alg) != HWJ_ALG_KIND_JWS &&
        hwj_alg_get_kind(k->alg) != HWJ_ALG_KIND_KM) {
        PERR("config %s.alg: '%s' is not a JWS or JWE key-management algorithm", where, alg);
        goto out;
    }
    json_t *aud = json_object_get(o, "aud");
    if (aud) {
        if (!json_is_array(aud) || json_array_size(aud) == 0) {
            PERR("config %s.aud: must be a non-empty array of strings", where);
            goto out;
        }
        k->aud = calloc(json_array_size(aud), sizeof(char *));
        if (!k->aud) {
            PERR("out of memory");
            goto out;
        }
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v)
        {
            if (!json_is_string(v) || json_string_length(v) == 0) {
                PERR("config %s.aud[%zu]: must be a non-empty string", where, i);
                goto out;
            }
            if (!(k->aud[k->naud++] = strdup(json_string_value(v)))) {
                PERR("out of memory");
                goto out;
            }
        }
    }
    rc = 0;
out:
    free(alg);
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
    if (check_members(o, where, allowed, msg, msglen) ||
        get_str(o, "name", where, 1, &c->name, msg, msglen) ||
        get_str(o, "token_sha256", where, 0, &tok, msg, msglen) ||
        get_str(o, "mtls_subject", where, 0, &c->mtls_subject, msg, msglen))
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
    if (check_members(l, "limits", allowed, msg, msglen) ||
        get_int(l, "max_body_bytes", "limits", 65536, 256, 1 << 24, &v, msg, msglen))
        goto out;
    cfg->max_body = (size_t)v;
    if (get_int(l, "timeout_seconds", "limits", 10, 1, 3600, &v, msg, msglen))
        goto out;
    cfg->timeout_seconds = (int)v;
    if (get_int(l, "max_connections", "limits", 512, 1, 1000000, &v, msg, msglen))
        goto out;
    cfg->max_connections = (unsigned)v;
    rc = 0;
out:
    json_decref(l);
    return rc;
}

/* The state store and this replica's name. The store defaults to SQLite beside the audit log. */
static int parse_store(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    char host[256];
    if (get_str(root, "store", "", 0, &cfg->store_url, msg, msglen) ||
        get_str(root, "instance", "", 0, &cfg->instance, msg, msglen) ||
        get_duration(root, "store_refresh", "", 5, &cfg->store_refresh, msg, msglen))
        return -1;
    if (!cfg->store_url) {
        const char *slash = strrchr(cfg->audit_path, '/');
        size_t n = strlen(cfg->audit_path) + 32;
        if (!(cfg->store_url = malloc(n)))
            return PERR("out of memory");
        if (slash)
            snprintf(cfg->store_url, n, "sqlite:%.*s/hwjose-state.db",
                     (int)(slash - cfg->audit_path), cfg->audit_path);
        else
            snprintf(cfg->store_url, n, "sqlite:hwjose-state.db");
    }
    if (!cfg->instance) {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "hwjose");
        host[sizeof(host) - 1] = '\0';
        if (!(cfg->instance = strdup(host)))
            return PERR("out of memory");
    }
    return 0;
}

/* A key's times keep lifecycle.h's promises for this config's refresh and JWKS max-age. */
static int check_timing(const srv_config *cfg, const srv_key_conf *k, const char *where, char *msg,
                        size_t msglen)
{
    srv_timing tm = srv_key_timing(cfg, k);
    char why[256];
    if (srv_lc_check_timing(&tm, cfg->store_refresh, cfg->jwks_max_age, why, sizeof(why)) != 0)
        return PERR("config %s: %s", where, why);
    return 0;
}

srv_timing srv_key_timing(const srv_config *cfg, const srv_key_conf *k)
{
    return (srv_timing){.publish_delay = 2 * cfg->store_refresh + SRV_LC_MARGIN,
                        .propagation = k->propagation,
                        .max_ttl = k->max_ttl,
                        .leeway = k->leeway,
                        .rotation_period = k->rotation_period};
}

static int parse_root(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    static const char *const allowed[] = {"listen",       "tls",   "allow_plain_http_non_loopback",
                                          "workers",      "keys",  "clients",
                                          "limits",       "audit", "metrics_public",
                                          "jwks_max_age", "store", "store_refresh",
                                          "instance",     NULL};
    static const char *const audit_allowed[] = {"path", "fsync", NULL};
    long long v;
    char where[64];
    if (!json_is_object(root))
        return PERR("config: must be a JSON object");
    if (check_members(root, "", allowed, msg, msglen) || parse_listen(cfg, root, msg, msglen) ||
        parse_tls(cfg, root, msg, msglen) ||
        get_bool(root, "allow_plain_http_non_loopback", "", 0, &cfg->allow_plain_http_non_loopback,
                 msg, msglen) ||
        get_bool(root, "metrics_public", "", 0, &cfg->metrics_public, msg, msglen) ||
        get_int(root, "workers", "", 2, 1, 256, &v, msg, msglen))
        return -1;
    cfg->workers = (unsigned)v;
    if (get_int(root, "jwks_max_age", "", 300, 0, 86400, &v, msg, msglen))
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
    if (check_members(audit, "audit", audit_allowed, msg, msglen) ||
        get_str(audit, "path", "audit", 1, &cfg->audit_path, msg, msglen) ||
        get_bool(audit, "fsync", "audit", 1, &cfg->audit_fsync, msg, msglen))
        return -1;

    if (parse_store(cfg, root, msg, msglen))
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
        if (parse_key(&cfg->keys[i], json_array_get(keys, i), where, cfg->jwks_max_age, msg,
                      msglen) ||
            check_timing(cfg, &cfg->keys[i], where, msg, msglen))
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
    return 0;
}

int srv_config_load(const char *path, srv_config **out, char *msg, size_t msglen)
{
    json_error_t jerr;
    srv_config *cfg = NULL;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
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
    free(cfg->store_url);
    free(cfg->instance);
    free(cfg);
}
