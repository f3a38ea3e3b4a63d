/* config_read.h: the config parser's pieces, internal to config*.c. config.c reads the file and
 * the service's members; config_keys.c a key's policy and the state store; config_read.c the
 * typed member readers below both. Every reader fills `msg` naming the member ("config
 * keys[2].ttl: ...") and returns -1 on error, 0 on success. */
#ifndef HWJ_SERVER_CONFIG_READ_H
#define HWJ_SERVER_CONFIG_READ_H

#include "server/server.h"

int cfg_perr(char *msg, size_t msglen, const char *fmt, ...) HWJ_PRINTF(3, 4);
#define PERR(...) cfg_perr(msg, msglen, __VA_ARGS__)

/* Only `allowed` members (NULL-terminated) in `obj`. */
int cfg_check_members(json_t *obj, const char *where, const char *const *allowed, char *msg,
                      size_t msglen);
/* A string member (copied into *out, NULL when absent and not required). */
int cfg_get_str(json_t *obj, const char *name, const char *where, int required, char **out,
                char *msg, size_t msglen);
int cfg_get_bool(json_t *obj, const char *name, const char *where, int dflt, int *out, char *msg,
                 size_t msglen);
int cfg_get_int(json_t *obj, const char *name, const char *where, long long dflt, long long min,
                long long max, long long *out, char *msg, size_t msglen);
/* Seconds, or "90s", "15m", "12h", "7d"; 1 s to 366 days. */
int cfg_get_duration(json_t *obj, const char *name, const char *where, int64_t dflt, int64_t *out,
                     char *msg, size_t msglen);

/* config_keys.c: one key's policy; the store, its refresh and the instance name; a key's
 * timings checked against lifecycle.h's promises. */
int cfg_parse_key(srv_key_conf *k, json_t *o, const char *where, int64_t jwks_max_age, char *msg,
                  size_t msglen);
int cfg_parse_store(srv_config *cfg, json_t *root, char *msg, size_t msglen);
int cfg_check_timing(const srv_config *cfg, const srv_key_conf *k, const char *where, char *msg,
                     size_t msglen);

#endif
