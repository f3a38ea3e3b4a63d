/* audit_verify.c: `hwjose audit verify` — checks audit files offline, on any machine. Each
 * replica ("instance") has its own chain; its files (rotated, given in any order) are put in
 * sequence order and must join: a file's first record chains from the previous file's last.
 * With the audit key's public JWKS every checkpoint's signature and sealed head are checked;
 * with the newest checkpoint exported off the host, records cut off after it are caught. */
#include "server/audit_int.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct vfile {
    const char *path;
    char instance[128];
    uint64_t first_seq, last_seq, records;
    char first_prev[65], head[65];
    uint64_t checkpoints, last_sealed; /* seq the newest checkpoint seals */
} vfile;

/* An exported checkpoint, once verified. */
typedef struct vlast {
    char instance[128], head[65];
    uint64_t seq;
    int found; /* record seq seen with head */
} vlast;

/* Exported checkpoints one run takes: one per replica, or several of one. */
#define AUDIT_VERIFY_MAX_LAST 64

typedef struct vctx {
    const hwj_jwks *keys;
    vlast last[AUDIT_VERIFY_MAX_LAST];
    size_t nlast;
    FILE *out;
} vctx;

static const hwj_alg seal_algs[] = {HWJ_ALG_ES256, HWJ_ALG_ES384, HWJ_ALG_ES512,  HWJ_ALG_RS256,
                                    HWJ_ALG_RS384, HWJ_ALG_RS512, HWJ_ALG_PS256,  HWJ_ALG_PS384,
                                    HWJ_ALG_PS512, HWJ_ALG_EDDSA, HWJ_ALG_ED25519};

/* Verify a checkpoint JWS; its payload members into the outputs. 0, or -1 (why in msg). */
static int open_checkpoint(const hwj_jwks *keys, const char *jws, char instance[128], uint64_t *seq,
                           char head[65], char time[40], char *msg, size_t msglen)
{
    hwj_verify_policy pol = {.size = sizeof(hwj_verify_policy),
                             .algs = seal_algs,
                             .nalgs = sizeof(seal_algs) / sizeof(*seal_algs)};
    hwj_jws_result *res = NULL;
    hwj_error err = {0};
    json_t *p = NULL, *h = NULL;
    int rc = -1;
    if (hwj_jws_verify(jws, strlen(jws), keys, &pol, NULL, 0, &res, &err) != HWJ_OK) {
        snprintf(msg, msglen, "checkpoint: %s", err.message);
        goto out;
    }
    h = json_loads(res->protected_json, 0, NULL);
    p = json_loadb((const char *)res->payload, res->payload_len, JSON_REJECT_DUPLICATES, NULL);
    const char *typ = json_string_value(json_object_get(h, "typ"));
    const char *in = json_string_value(json_object_get(p, "instance"));
    const char *hd = json_string_value(json_object_get(p, "head"));
    const char *tm = json_string_value(json_object_get(p, "time"));
    json_t *sq = json_object_get(p, "seq");
    if (!tm || strlen(tm) >= 40 || !typ || strcmp(typ, AUDIT_CHECKPOINT_TYP) != 0 || !in ||
        strlen(in) >= 128 || !hd || strlen(hd) != 64 || !json_is_integer(sq) ||
        json_integer_value(sq) < 0) {
        snprintf(msg, msglen, "checkpoint: not an hwjose audit checkpoint");
        goto out;
    }
    strcpy(instance, in);
    strcpy(head, hd);
    strcpy(time, tm);
    *seq = (uint64_t)json_integer_value(sq);
    rc = 0;
out:
    json_decref(h);
    json_decref(p);
    hwj_jws_result_free(res);
    return rc;
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(v->out, "BROKEN at record %llu of %s: ", (unsigned long long)lineno, f->path);     \
        fprintf(v->out, __VA_ARGS__);                                                              \
        fputc('\n', v->out);                                                                       \
        rc = 1;                                                                                    \
        goto out;                                                                                  \
    } while (0)

/* One record of f at line `lineno`; the file's state moves past it. 0, or 1 (printed). */
static int check_record(vctx *v, vfile *f, uint64_t lineno, const char *line, size_t len)
{
    char hash[65];
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    int rc = 0;
    const char *prev = json_string_value(json_object_get(o, "prev"));
    const char *inst = json_string_value(json_object_get(o, "instance"));
    json_t *jseq = json_object_get(o, "seq");
    uint64_t seq = json_is_integer(jseq) ? (uint64_t)json_integer_value(jseq) : 0;
    if (!o)
        FAIL("not JSON");
    if (!prev || strlen(prev) != 64)
        FAIL("no \"prev\" member");
    if (!inst)
        inst = "-"; /* written before records named their replica */
    if (lineno == 1) {
        snprintf(f->instance, sizeof(f->instance), "%s", inst);
        memcpy(f->first_prev, prev, 65);
        f->first_seq = seq;
    } else {
        if (strcmp(prev, f->head) != 0)
            FAIL("prev does not match the hash of record %llu (record %llu was altered, or "
                 "records were removed or inserted between them)",
                 (unsigned long long)lineno - 1, (unsigned long long)lineno - 1);
        /* A log upgraded in place: the unnamed records before the first named one are its. */
        if (strcmp(f->instance, "-") == 0)
            snprintf(f->instance, sizeof(f->instance), "%s", inst);
        if (strcmp(inst, f->instance) != 0)
            FAIL("instance '%s' in a file of instance '%s'", inst, f->instance);
        if (f->last_seq && seq != f->last_seq + 1)
            FAIL("seq %llu after seq %llu (records reordered or removed)", (unsigned long long)seq,
                 (unsigned long long)f->last_seq);
    }
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type && strcmp(type, "checkpoint") == 0 && v->keys) {
        char ci[128], ch[65], ct[40], msg[300];
        const char *rt = json_string_value(json_object_get(o, "time"));
        uint64_t cs = 0;
        const char *jws = json_string_value(json_object_get(o, "checkpoint"));
        if (!jws || open_checkpoint(v->keys, jws, ci, &cs, ch, ct, msg, sizeof(msg)) != 0)
            FAIL("%s", jws ? msg : "a checkpoint record without a checkpoint");
        /* The record around the JWS says nothing the JWS does not: its time is the signed one. */
        if (!rt || strcmp(rt, ct) != 0)
            FAIL("the checkpoint record's time is not the time it signs (edited)");
        if (strcmp(ci, inst) != 0 || cs + 1 != seq || strcmp(ch, prev) != 0)
            FAIL("the checkpoint seals instance '%s' seq %llu head %.16s…, but the chain "
                 "before it is seq %llu head %.16s… (records before it were edited, removed or "
                 "reordered)",
                 ci, (unsigned long long)cs, ch, (unsigned long long)(seq ? seq - 1 : 0), prev);
        f->checkpoints++;
        f->last_sealed = cs;
    }
    srv_sha256_hex(line, len, hash);
    for (size_t i = 0; i < v->nlast; i++) {
        vlast *l = &v->last[i];
        if (seq != l->seq || strcmp(inst, l->instance) != 0)
            continue;
        if (strcmp(hash, l->head) != 0)
            FAIL("differs from the head the exported checkpoint seals (edited after export)");
        l->found = 1;
    }
    memcpy(f->head, hash, 65);
    f->last_seq = seq;
    f->records = lineno;
out:
    json_decref(o);
    return rc;
}

/* Stream one file line by line (memory: one record). 0, 1 broken (printed), -1 unreadable. */
static int check_file(vctx *v, vfile *f, char *msg, size_t msglen)
{
    int is_stdin = strcmp(f->path, "-") == 0;
    FILE *in = is_stdin ? stdin : fopen(f->path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    int rc = 0;
    if (!in) {
        snprintf(msg, msglen, "cannot read '%s'", f->path);
        return -1;
    }
    while (rc == 0 && (n = getline(&line, &cap, in)) > 0) {
        lineno++;
        if (line[n - 1] != '\n') {
            fprintf(v->out, "BROKEN at record %llu of %s: incomplete (no newline)\n",
                    (unsigned long long)lineno, f->path);
            rc = 1;
        } else {
            rc = check_record(v, f, lineno, line, (size_t)n - 1);
        }
    }
    if (rc == 0 && ferror(in)) {
        snprintf(msg, msglen, "cannot read '%s'", f->path);
        rc = -1;
    }
    free(line);
    if (!is_stdin)
        fclose(in);
    return rc;
}

static int by_instance_seq(const void *a, const void *b)
{
    const vfile *x = a, *y = b;
    int c = strcmp(x->instance, y->instance);
    return c ? c : x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* The files of one instance, in order, form one chain. 0 or 1 (printed). */
static int check_chain(vctx *v, vfile *f, size_t n)
{
    uint64_t cps = 0, sealed = 0, records = 0;
    const char *inst = f[0].instance;
    if (strcmp(f[0].first_prev, AUDIT_ZERO_HASH) != 0 || f[0].first_seq > 1) {
        fprintf(v->out,
                "BROKEN: instance %s: its first record (seq %llu in %s) does not start the "
                "chain (records were removed from the start, or earlier files are missing)\n",
                inst, (unsigned long long)f[0].first_seq, f[0].path);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (strcmp(f[i].first_prev, f[i - 1].head) != 0 ||
                      f[i].first_seq != f[i - 1].last_seq + 1)) {
            fprintf(v->out,
                    "BROKEN: instance %s: %s does not continue %s (seq %llu after %llu, or its "
                    "first prev is not that file's head: a file is missing or was altered)\n",
                    inst, f[i].path, f[i - 1].path, (unsigned long long)f[i].first_seq,
                    (unsigned long long)f[i - 1].last_seq);
            return 1;
        }
        cps += f[i].checkpoints;
        records += f[i].records;
        if (f[i].checkpoints)
            sealed = f[i].last_sealed;
    }
    const vfile *last = &f[n - 1];
    for (size_t i = 0; i < v->nlast; i++) {
        const vlast *l = &v->last[i];
        if (strcmp(inst, l->instance) != 0 || (l->found && last->last_seq >= l->seq + 1))
            continue;
        fprintf(v->out,
                "BROKEN: instance %s: truncated: the files end at seq %llu, but the exported "
                "checkpoint seals seq %llu and its checkpoint record is seq %llu (records were "
                "cut off or the file replaced)\n",
                inst, (unsigned long long)last->last_seq, (unsigned long long)l->seq,
                (unsigned long long)l->seq + 1);
        return 1;
    }
    if (v->keys && cps == 0) {
        fprintf(v->out, "BROKEN: instance %s: no checkpoint: nothing in it is sealed\n", inst);
        return 1;
    }
    fprintf(v->out, "OK: instance %s: %llu records in %zu file(s), chain intact, head sha256 %s",
            inst, (unsigned long long)records, n, last->head);
    if (v->keys)
        fprintf(v->out, "; %llu checkpoints verified, sealed to seq %llu", (unsigned long long)cps,
                (unsigned long long)sealed);
    fputc('\n', v->out);
    if (!v->keys)
        fprintf(v->out,
                "note: instance %s: checkpoints not checked (no --checkpoint-jwks): the files are "
                "consistent, but a chain rewritten from an edit on, or cut short, would pass too\n",
                inst);
    if (v->keys && last->last_seq > sealed + 1)
        fprintf(v->out,
                "note: instance %s: the last %llu records are not sealed by a checkpoint yet\n",
                inst, (unsigned long long)(last->last_seq - sealed - 1));
    return 0;
}

int srv_audit_verify(const char *const *paths, size_t npaths, const char *jwks_json,
                     const char *last_checkpoint, FILE *out, char *msg, size_t msglen)
{
    hwj_jwks *keys = NULL;
    hwj_error err = {0};
    vctx v = {.out = out};
    vfile *f = calloc(npaths, sizeof(*f));
    size_t nf = 0;
    int rc = -1, broken = 0;
    if (!f) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }
    if (last_checkpoint && !jwks_json) {
        snprintf(msg, msglen,
                 "checking against an exported checkpoint needs the audit key's "
                 "public JWKS");
        goto out;
    }
    if (jwks_json && hwj_jwks_parse(jwks_json, strlen(jwks_json), &keys, &err) != HWJ_OK) {
        snprintf(msg, msglen, "the checkpoint JWKS: %s", err.message);
        goto out;
    }
    v.keys = keys;
    /* The exported checkpoints: JWSs separated by white space (one per line, as a store query
     * or repeated --last-checkpoint gives them); each is checked against its instance. */
    for (const char *p = last_checkpoint; p && *(p += strspn(p, " \r\n\t"));) {
        char text[8192], t[40];
        size_t len = strcspn(p, " \r\n\t");
        if (len >= sizeof(text) || v.nlast == AUDIT_VERIFY_MAX_LAST) {
            snprintf(msg, msglen, "%s",
                     len >= sizeof(text) ? "an exported checkpoint is too long"
                                         : "more than 64 exported checkpoints");
            goto out;
        }
        memcpy(text, p, len);
        text[len] = '\0';
        p += len;
        vlast *l = &v.last[v.nlast];
        if (open_checkpoint(keys, text, l->instance, &l->seq, l->head, t, msg, msglen) != 0) {
            fprintf(out, "BROKEN: the exported %s\n", msg);
            rc = 1;
            goto out;
        }
        v.nlast++;
    }
    if (last_checkpoint && v.nlast == 0) {
        snprintf(msg, msglen, "the exported checkpoint is empty");
        goto out;
    }
    for (size_t i = 0; i < npaths; i++) {
        vfile *x = &f[nf];
        x->path = paths[i];
        int r = check_file(&v, x, msg, msglen);
        if (r < 0)
            goto out;
        broken |= r;
        if (r == 0 && x->records == 0) {
            fprintf(out, "%s: %s: empty\n", v.keys ? "BROKEN" : "note", x->path);
            broken |= v.keys != NULL;
            continue;
        }
        nf++;
    }
    if (!broken) {
        qsort(f, nf, sizeof(*f), by_instance_seq);
        for (size_t i = 0; i < nf;) {
            size_t j = i;
            while (j < nf && strcmp(f[j].instance, f[i].instance) == 0)
                j++;
            broken |= check_chain(&v, f + i, j - i);
            i = j;
        }
        for (size_t k = 0; k < v.nlast; k++) {
            int seen = 0;
            for (size_t i = 0; i < nf && !seen; i++)
                seen = strcmp(f[i].instance, v.last[k].instance) == 0;
            if (seen)
                continue;
            fprintf(out,
                    "BROKEN: instance %s: no file holds the exported checkpoint's chain "
                    "(removed or emptied)\n",
                    v.last[k].instance);
            broken = 1;
        }
    }
    rc = broken;
out:
    hwj_jwks_free(keys);
    free(f);
    return rc;
}
