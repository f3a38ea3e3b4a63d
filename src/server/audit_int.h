/*
 * audit_int.h: the audit module's internal interface (docs/audit.md). audit.c is its top: the
 * record API of server.h, when to seal, the timer thread. Below it: audit_log.c (the file:
 * tail read at start, append with rollback, rotation; the SHA-256 helpers of server.h),
 * audit_seal.c (checkpoints signed with the audit key, shipped off the log's disk) and
 * audit_flood.c (unauthenticated denials counted per source). audit_verify.c is the verifier the
 * CLI calls; it shares only the record schema with the writer.
 */
#ifndef HWJ_SERVER_AUDIT_INT_H
#define HWJ_SERVER_AUDIT_INT_H

#include <hwjose/hwjose.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_VERSION 2
#define AUDIT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_CHECKPOINT_TYP "hwjose-audit-checkpoint"

/* --- audit_log.c -------------------------------------------------------------------------- */

typedef struct audit_log {
    int fd;
    char *path;
    int fsync;
    int64_t max_bytes; /* rotate once the file reaches it; 0: never */
    unsigned keep;     /* rotated files kept; 0: all */
    int64_t size;      /* the end of the last whole record */
    uint64_t seq;      /* the last record's sequence number (0: none yet) */
    char head[65];     /* SHA-256 of the last record (the zero hash before the first) */
} audit_log;

/* Open (create) the file and continue its chain from its tail alone; an incomplete last line
 * (a crash mid-write, never acknowledged) is cut off. */
int alog_open(audit_log *l, const char *path, int do_fsync, int64_t max_bytes, unsigned keep,
              char *msg, size_t msglen);
void alog_close(audit_log *l);
/* Append the record made of `prefix` (the members before "seq") and `members` (",..." after
 * it), numbered l->seq + 1 and chained with "prev": on disk (fdatasync'd if configured) or
 * rolled back so the file ends on a whole record. 0 or -1. */
int alog_append(audit_log *l, const char *prefix, const char *members, size_t mlen);
/* The file reached max_bytes. */
int alog_rotate_due(const audit_log *l);
/* Move the file aside as PATH.<20-digit last seq>, drop the oldest beyond `keep`, start a new
 * file whose first record will chain from this one's head. 0 or -1 (keeps writing the old). */
int alog_rotate(audit_log *l);

/* --- audit_seal.c ------------------------------------------------------------------------- */

/* Open the audit key: a pkcs11: or tpm2: URI; any other only with `insecure_software`. */
int aseal_open(hwj_ctx *ctx, const char *uri, int insecure_software, char *msg, size_t msglen);
void aseal_close(void);
int aseal_enabled(void);
/* The compact JWS over {"instance","seq","head","time"} (hwj_free), or NULL. */
char *aseal_sign(const char *instance, uint64_t seq, const char *head, const char *time);
/* Send a checkpoint to journald (when built with libsystemd; silently nothing otherwise) and
 * queue it for the state store. */
void aseal_ship(const char *instance, uint64_t seq, const char *jws);
/* Record checkpoints in the state store at `url` too (NULL: none). 0 or -1. */
int aseal_store(const char *url);
/* Write the newest queued checkpoint to the store (the timer thread; a failure is reported
 * and the next one is tried). */
void aseal_flush_store(void);

/* --- audit_flood.c ------------------------------------------------------------------------ */

#define AFLOOD_SOURCES 1024 /* distinct sources per interval; the rest count as "other" */

/* Count one unauthenticated denial from `peer` ("addr:port"; the port is dropped). */
void aflood_count(const char *peer);
typedef void (*aflood_emit_fn)(void *arg, const char *source, uint64_t count, int64_t since,
                               int64_t until);
/* Hand every source counted since the last flush to `emit` and start a new interval. */
void aflood_flush(aflood_emit_fn emit, void *arg);

#endif
