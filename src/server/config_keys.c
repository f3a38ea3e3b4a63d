/* config_keys.c: a key's policy in the config (its versions live in the state store:
 * docs/rotation.md), the store itself, and the timing promises of lifecycle.h checked at load. */
#include "server/config_read.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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

/* "dpop", "dpop_htu" and "profile": how /jwt binds tokens to a client's key (RFC 9449) and
 * which access-token profile it issues (RFC 9068). The proofs' htu is fixed by the config, never
 * taken from the request's Host header, so a proof made for another server is refused here. */
static int cfg_parse_dpop(srv_key_conf *k, json_t *o, const char *where, char *msg, size_t msglen)
{
    char *mode = NULL, *profile = NULL, *norm = NULL;
    int rc = -1;
    if (cfg_get_str(o, "dpop", where, 0, &mode, msg, msglen) ||
        cfg_get_str(o, "dpop_htu", where, 0, &k->dpop_htu, msg, msglen) ||
        cfg_get_str(o, "profile", where, 0, &profile, msg, msglen))
        goto out;
    if (profile && strcmp(profile, "at+jwt") != 0) {
        PERR("config %s.profile: the one profile is \"at+jwt\" (RFC 9068)", where);
        goto out;
    }
    k->at_jwt = profile != NULL;
    if (!mode) {
        rc = k->dpop_htu ? PERR("config %s.dpop_htu: needs \"dpop\"", where) : 0;
        goto out;
    }
    if (strcmp(mode, "required") == 0)
        k->dpop = SRV_DPOP_REQUIRED;
    else if (strcmp(mode, "optional") == 0)
        k->dpop = SRV_DPOP_OPTIONAL;
    else {
        PERR("config %s.dpop: must be \"required\" or \"optional\"", where);
        goto out;
    }
    if (hwj_alg_get_kind(k->alg) != HWJ_ALG_KIND_JWS) {
        PERR("config %s.dpop: only a signing key issues DPoP-bound tokens", where);
        goto out;
    }
    if (!k->dpop_htu && k->iss &&
        (strncmp(k->iss, "https://", 8) == 0 || strncmp(k->iss, "http://", 7) == 0)) {
        /* the issuer's origin, as discovery publishes it, with this key's /jwt path */
        const char *host = strstr(k->iss, "://") + 3;
        size_t origin = (size_t)(host - k->iss) + strcspn(host, "/?#");
        size_t n = origin + strlen(k->name) + 16;
        if (!(k->dpop_htu = malloc(n))) {
            PERR("out of memory");
            goto out;
        }
        snprintf(k->dpop_htu, n, "%.*s/v1/keys/%s/jwt", (int)origin, k->iss, k->name);
    }
    if (!k->dpop_htu) {
        PERR("config %s.dpop_htu: give the URL clients send this key's /jwt requests to (e.g. "
             "\"https://as.example/v1/keys/%s/jwt\"), or pin an https \"iss\" at this service's "
             "origin",
             where, k->name);
        goto out;
    }
    if (hwj_dpop_htu_normalize(k->dpop_htu, &norm, NULL) != HWJ_OK) {
        PERR("config %s.dpop_htu: must be an absolute http or https URL without user "
             "information",
             where);
        goto out;
    }
    free(k->dpop_htu);
    k->dpop_htu = norm;
    rc = 0;
out:
    free(mode);
    free(profile);
    return rc;
}

int cfg_parse_key(srv_key_conf *k, json_t *o, const char *where, int64_t jwks_max_age, char *msg,
                  size_t msglen)
{
    static const char *const allowed[] = {"name",
                                          "uri",
                                          "generate",
                                          "alg",
                                          "ttl",
                                          "max_ttl",
                                          "rotation_period",
                                          "propagation",
                                          "leeway",
                                          "iss",
                                          "aud",
                                          "dpop",
                                          "dpop_htu",
                                          "profile",
                                          "allow_extractable",
                                          NULL};
    char *alg = NULL;
    int rc = -1;
    if (!json_is_object(o))
        return PERR("config %s: must be an object", where);
    if (json_object_get(o, "state"))
        return PERR("config %s.state: key states now come from versions in the store; remove "
                    "\"state\" (the key's uri becomes its version 1) and rotate with POST "
                    "/v1/keys/NAME/rotate or `hwjose keys rotate` (docs/rotation.md)",
                    where);
    if (cfg_check_members(o, where, allowed, msg, msglen) ||
        cfg_get_str(o, "name", where, 1, &k->name, msg, msglen) ||
        cfg_get_str(o, "uri", where, 0, &k->uri, msg, msglen) ||
        cfg_get_str(o, "generate", where, 0, &k->generate, msg, msglen) ||
        cfg_get_str(o, "alg", where, 1, &alg, msg, msglen) ||
        cfg_get_str(o, "iss", where, 0, &k->iss, msg, msglen) ||
        cfg_get_duration(o, "ttl", where, 900, &k->ttl, msg, msglen) ||
        cfg_get_bool(o, "allow_extractable", where, 0, &k->allow_extractable, msg, msglen))
        goto out;
    if (cfg_get_duration(o, "max_ttl", where, k->ttl, &k->max_ttl, msg, msglen) ||
        cfg_get_duration(o, "propagation", where, jwks_max_age > 0 ? jwks_max_age : 1,
                         &k->propagation, msg, msglen) ||
        cfg_get_duration(o, "leeway", where, 60, &k->leeway, msg, msglen))
        goto out;
    if (json_object_get(o, "rotation_period") &&
        cfg_get_duration(o, "rotation_period", where, 0, &k->rotation_period, msg, msglen))
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
    rc = cfg_parse_dpop(k, o, where, msg, msglen);
out:
    free(alg);
    return rc;
}

/* The state store and this replica's name. The store defaults to SQLite beside the audit log. */
int cfg_parse_store(srv_config *cfg, json_t *root, char *msg, size_t msglen)
{
    char host[256];
    if (cfg_get_str(root, "store", "", 0, &cfg->store_url, msg, msglen) ||
        cfg_get_str(root, "instance", "", 0, &cfg->instance, msg, msglen) ||
        cfg_get_duration(root, "store_refresh", "", 5, &cfg->store_refresh, msg, msglen))
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
int cfg_check_timing(const srv_config *cfg, const srv_key_conf *k, const char *where, char *msg,
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
