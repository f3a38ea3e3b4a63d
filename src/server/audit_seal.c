/* audit_seal.c: checkpoints. A checkpoint signs the chain head — instance, sequence number,
 * head hash, time — as a compact JWS with the audit key, which lives in a token or TPM like
 * the service's other keys: whoever can rewrite the log file cannot forge one. Each is also
 * sent off the log's disk (journald), so cutting the log's tail or replacing the file is
 * caught against the last checkpoint exported (docs/audit.md). */
#include "server/log.h"
#include "server/audit_int.h"
#include "server/store.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef HWJ_WITH_SYSTEMD
#include <systemd/sd-journal.h>
#endif

static hwj_key *seal_key;

/* The state store, when configured: its own connection (the store is never on the signing
 * path), opened at the first checkpoint and written from the timer thread only. */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static char *store_url;
static srv_store *store;
static char *pending_jws, *pending_instance;
static uint64_t pending_seq;

int aseal_open(hwj_ctx *ctx, const char *uri, int insecure_software, char *msg, size_t msglen)
{
    hwj_error err = {0};
    if (!uri)
        return 0;
    if (strncmp(uri, "pkcs11:", 7) != 0 && strncmp(uri, "tpm2:", 5) != 0 && !insecure_software) {
        snprintf(msg, msglen,
                 "config audit.key: the audit key must live in a token or TPM (a pkcs11: or "
                 "tpm2: URI); a software key can be copied by whoever reads its file, and then "
                 "checkpoints prove nothing (insecure_software_key allows it for tests)");
        return -1;
    }
    if (hwj_key_open(ctx, uri, NULL, &seal_key, &err) != HWJ_OK) {
        snprintf(msg, msglen, "config audit.key: %s", err.message);
        return -1;
    }
    return 0;
}

int aseal_store(const char *url)
{
    return url && !(store_url = strdup(url)) ? -1 : 0;
}

void aseal_flush_store(void)
{
    char msg[512];
    pthread_mutex_lock(&pending_lock);
    char *jws = pending_jws, *inst = pending_instance;
    uint64_t seq = pending_seq;
    pending_jws = pending_instance = NULL;
    pthread_mutex_unlock(&pending_lock);
    if (!jws)
        return;
    msg[0] = '\0';
    int ok = (store || srv_store_open(store_url, "hwjose-audit", &store, msg, sizeof(msg)) ==
                           SRV_STORE_OK) &&
             srv_store_audit_checkpoint(store, inst, (int64_t)seq, jws, (int64_t)time(NULL), msg,
                                        sizeof(msg)) == SRV_STORE_OK;
    if (!ok)
        srv_log(SRV_LOG_ERR, NULL, "audit checkpoint not recorded in the store: %s", msg);
    free(jws);
    free(inst);
}

void aseal_close(void)
{
    aseal_flush_store();
    srv_store_close(store);
    store = NULL;
    free(store_url);
    store_url = NULL;
    hwj_key_free(seal_key);
    seal_key = NULL;
}

int aseal_enabled(void)
{
    return seal_key != NULL;
}

char *aseal_sign(const char *instance, uint64_t seq, const char *head, const char *time)
{
    hwj_error err = {0};
    char *jws = NULL;
    json_t *p = json_pack("{s:s,s:I,s:s,s:s}", "instance", instance, "seq", (json_int_t)seq, "head",
                          head, "time", time);
    char *text = p ? json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    hwj_jws_sign_opts o = {.size = sizeof(hwj_jws_sign_opts),
                           .header_json = "{\"typ\":\"" AUDIT_CHECKPOINT_TYP "\"}"};
    if (text &&
        hwj_jws_sign(seal_key, (const uint8_t *)text, strlen(text), &o, &jws, &err) != HWJ_OK) {
        srv_log(SRV_LOG_ERR, NULL, "audit checkpoint: %s", err.message);
        jws = NULL;
    }
    free(text);
    json_decref(p);
    return jws;
}

void aseal_ship(const char *instance, uint64_t seq, const char *jws)
{
    /* Only the newest counts: it is what a cut-off log is checked against. */
    if (store_url) {
        char *j = strdup(jws), *i = strdup(instance);
        pthread_mutex_lock(&pending_lock);
        free(pending_jws);
        free(pending_instance);
        pending_jws = j && i ? j : NULL;
        pending_instance = j && i ? i : NULL;
        pending_seq = seq;
        pthread_mutex_unlock(&pending_lock);
        if (!(j && i)) {
            free(j);
            free(i);
        }
    }
#ifdef HWJ_WITH_SYSTEMD
    /* Not under systemd the send fails; the checkpoint is in the log either way. */
    (void)sd_journal_send("MESSAGE=hwjose audit checkpoint %s seq %llu", instance,
                          (unsigned long long)seq, "HWJOSE_AUDIT_INSTANCE=%s", instance,
                          "HWJOSE_AUDIT_SEQ=%llu", (unsigned long long)seq,
                          "HWJOSE_AUDIT_CHECKPOINT=%s", jws, "SYSLOG_IDENTIFIER=hwjose", NULL);
#else
    (void)instance;
    (void)seq;
    (void)jws;
#endif
}
