/* audit.c: `hwjose audit verify FILE... [--checkpoint-jwks KEYS] [--last-checkpoint JWS]`:
 * checks audit logs of `hwjose serve` (src/server/audit_verify.c; docs/audit.md). */
#include "cli/cli.h"
#include "cli/util.h"

#include <string.h>

#ifdef HWJ_WITH_SERVER
#include "server/server.h"
#endif

static const char *const AUDIT = "audit";

static void audit_usage(FILE *out)
{
    fprintf(out,
            "usage: hwjose audit verify FILE... [--checkpoint-jwks KEYS] [--last-checkpoint JWS]\n"
            "\n"
            "Checks `hwjose serve` audit logs: each replica's hash chain across its rotated\n"
            "files (give them all, in any order), and with --checkpoint-jwks (the audit key's\n"
            "public JWKS file) every checkpoint's signature and the head it seals.\n"
            "--last-checkpoint (a file holding, or the text of, the newest checkpoint JWS\n"
            "exported off the host) catches records removed or cut off after it; repeat it,\n"
            "or put one JWS a line in the file, for the newest of each replica.\n"
            "Exit 0 intact, 1 edited, reordered, removed or truncated, 2 on usage or read "
            "errors.\n");
}

/* `--name VALUE` or `--name=VALUE` at argv[*i]; 1 when it matched (*value set), -1 when the
 * value is missing. */
static int option_value(char **argv, int argc, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *value = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *value = argv[++*i];
    return 1;
}

/* Three base64url parts joined by two dots. */
static int looks_like_jws(const char *s)
{
    static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    int dots = 0;
    for (const char *p = s; *p; p++)
        dots += *p == '.';
    return dots == 2 && s[strspn(s, b64u)] == '\0';
}

int cmd_audit(int argc, char **argv)
{
    const char *jwks = NULL, *last = NULL;
    const char **files = calloc((size_t)argc + 1, sizeof(*files));
    const char **lasts = calloc((size_t)argc + 1, sizeof(*lasts)); /* every --last-checkpoint */
    size_t nfiles = 0, nlasts = 0;
    int verb = 0, only_files = 0, rc = CLI_USAGE;
    if (!files || !lasts) {
        free(files);
        free(lasts);
        return CLI_USAGE;
    }
    /* Options may follow the files (`verify a.log b.log --checkpoint-jwks k.json`). */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int m = 0;
        if (!only_files && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            audit_usage(stdout);
            rc = CLI_OK;
            goto out;
        }
        if (!only_files && strcmp(a, "--") == 0) {
            only_files = 1;
            continue;
        }
        if (!only_files && a[0] == '-' && a[1] != '\0') {
            if ((m = option_value(argv, argc, &i, "--checkpoint-jwks", &jwks)) == 0 &&
                (m = option_value(argv, argc, &i, "--last-checkpoint", &last)) > 0)
                lasts[nlasts++] = last;
            if (m <= 0) {
                cli_say(AUDIT, m < 0 ? "option '%s' needs a value" : "unknown option '%s'", a);
                goto usage;
            }
            continue;
        }
        if (!verb) {
            if (strcmp(a, "verify") != 0) {
                cli_say(AUDIT, "the subcommand is verify");
                goto usage;
            }
            verb = 1;
            continue;
        }
        files[nfiles++] = a;
    }
    if (!verb) {
        cli_say(AUDIT, "the subcommand is verify");
        goto usage;
    }
    if (nfiles == 0) {
        cli_say(AUDIT, "verify takes at least one FILE");
        goto usage;
    }
    /* '-' is stdin for a FILE, the JWKS or a checkpoint file: once. */
    size_t dashes = jwks && strcmp(jwks, "-") == 0;
    for (size_t k = 0; k < nfiles; k++)
        dashes += strcmp(files[k], "-") == 0;
    for (size_t k = 0; k < nlasts; k++)
        dashes += strcmp(lasts[k], "-") == 0;
    if (dashes > 1) {
        cli_say(AUDIT, "'-' (stdin) can be given once");
        goto usage;
    }
#ifdef HWJ_WITH_SERVER
    uint8_t *keys = NULL;
    size_t keys_len = 0;
    char msg[512], *cps = NULL; /* every exported checkpoint, one a line */
    size_t cps_len = 0;
    if (jwks && cli_read_input(AUDIT, jwks, &keys, &keys_len) != CLI_OK)
        goto out;
    /* Each checkpoint: the compact JWS itself, or a file holding one or more (a name that cannot
     * be read is a usage error, not a tampered log). */
    for (size_t k = 0; k < nlasts; k++) {
        uint8_t *cp = NULL;
        size_t cp_len = 0;
        int is_jws = looks_like_jws(lasts[k]);
        if (!is_jws && cli_read_input(AUDIT, lasts[k], &cp, &cp_len) != CLI_OK) {
            cli_free_input(keys, keys_len);
            free(cps);
            goto out;
        }
        const char *text = is_jws ? lasts[k] : (const char *)cp;
        size_t len = strlen(text);
        char *grown = realloc(cps, cps_len + len + 2);
        if (grown) {
            memcpy(grown + cps_len, text, len);
            cps_len += len;
            grown[cps_len++] = '\n';
            grown[cps_len] = '\0';
            cps = grown;
        }
        cli_free_input(cp, cp_len);
        if (!grown) {
            cli_say(AUDIT, "out of memory");
            cli_free_input(keys, keys_len);
            free(cps);
            goto out;
        }
    }
    int v = srv_audit_verify(files, nfiles, (const char *)keys, cps, stdout, msg, sizeof(msg));
    cli_free_input(keys, keys_len);
    free(cps);
    if (v < 0)
        cli_say(AUDIT, "%s", msg);
    rc = v < 0 ? CLI_USAGE : v > 0 ? CLI_INVALID : CLI_OK;
    goto out;
#else
    (void)jwks;
    (void)last;
    cli_say(AUDIT, "this build has no server support");
    goto out;
#endif
usage:
    rc = cli_usage_error(AUDIT);
out:
    free(files);
    free(lasts);
    return rc;
}
