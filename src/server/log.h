/* log.h: the service's log (log.c): one structured record per event, never a secret. */
#ifndef HWJ_SERVER_LOG_H
#define HWJ_SERVER_LOG_H

#include "server/server.h"

#include <jansson.h>

/* syslog(3) priorities, as journald and log shippers read them. */
typedef enum srv_log_level {
    SRV_LOG_ERR = 3,
    SRV_LOG_WARNING = 4,
    SRV_LOG_NOTICE = 5,
    SRV_LOG_INFO = 6
} srv_log_level;

/* Choose the sink once, before any thread logs: journald's native protocol when stderr is the
 * journal stream systemd gave us ($JOURNAL_STREAM, systemd.exec(5)), else JSON lines on stderr. */
void srv_log_init(void);
/* One record: `msg`, the request's id when `req` is given, and `fields` (an object of strings
 * and integers, consumed; NULL for none). Names and messages only: never a token, PIN or
 * payload. */
void srv_log_fields(srv_log_level level, const srv_req *req, json_t *fields, const char *msg);
/* The same with a formatted message and no extra fields. */
void srv_log(srv_log_level level, const srv_req *req, const char *fmt, ...) HWJ_PRINTF(3, 4);
/* Whether access records are written (config "access_log"; applies at reload). */
void srv_log_set_access(int on);
/* The access record of one answered request: the route as a template (never the raw path,
 * which could carry anything), the status, the client and key when known, the duration. */
void srv_log_access(const srv_req *req, const char *route, int status, const char *client,
                    const char *key, double seconds);

#endif
