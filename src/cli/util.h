/* util.h: what the sign/verify/jwt/jwks commands share — bounded input, key loading, alg
 * lists, error reporting, exit codes and all-or-nothing output. */
#ifndef HWJ_CLI_UTIL_H
#define HWJ_CLI_UTIL_H

#include "cli/cli.h"

#include <getopt.h>

/* Largest payload, JWS or JWT read from stdin or --in (a clear error beyond it). */
#define CLI_MAX_INPUT ((size_t)16 * 1024 * 1024)
/* Most --alg, --aud, --claim, --key values one command takes. */
#define CLI_MAX_LIST 32

/* Print "hwjose <cmd>: <fmt...>" to stderr. */
void cli_say(const char *cmd, const char *fmt, ...) HWJ_PRINTF(2, 3);
/* The exit code for `rc`: usage and input errors (ARG, PARSE, LIMIT, IO) → 2; a token not
 * accepted (SIGNATURE, CLAIMS, POLICY, KEY_NOT_FOUND, ...) or an operation that failed → 1. */
int cli_exit_code(hwj_err rc);
/* Print the error as "hwjose <cmd>: <message>" and return its exit code. */
int cli_fail(const char *cmd, hwj_err rc, const hwj_error *err);
/* Print "hwjose <cmd>: hint: <fmt...>" under a failure: the option or command that fixes it.
 * The library's messages describe the problem and name no CLI flag; the CLI adds these. */
void cli_hint(const char *cmd, const char *fmt, ...) HWJ_PRINTF(2, 3);
/* Hints after a failed signing (sign, jwt issue): `alg` is the --alg given (or
 * HWJ_ALG_UNKNOWN), `allow_extractable` whether --allow-extractable was. */
void cli_sign_hints(const char *cmd, hwj_err rc, const hwj_key *key, hwj_alg alg,
                    int allow_extractable);
/* Hints after a failed verification (verify, jwt verify). */
void cli_verify_hints(const char *cmd, hwj_err rc, const hwj_error *err);
/* An unknown option or a missing value: getopt has printed why; point at --help. */
int cli_usage_error(const char *cmd);

/* Read all of `path` (or stdin when path is NULL or "-"), at most CLI_MAX_INPUT bytes,
 * NUL-terminated; stdin only once per process (a second read is refused, printed). Free with
 * cli_free_input(). Returns CLI_OK or CLI_USAGE (printed). */
int cli_read_input(const char *cmd, const char *path, uint8_t **out, size_t *len);
void cli_free_input(uint8_t *buf, size_t len);
/* A JWK / JWK Set from `path`, or from stdin when it is "-" (stdin is read once per command:
 * a second '-' is a usage error, printed). */
hwj_err cli_jwk_read(const char *cmd, const char *path, hwj_jwk **out, hwj_error *err);
hwj_err cli_jwks_read(const char *cmd, const char *path, hwj_jwks **out, hwj_error *err);

/* Append the JWS alg `name` to algs[*n] (capacity CLI_MAX_LIST). CLI_OK or CLI_USAGE. */
int cli_alg_add(const char *cmd, const char *name, hwj_alg *algs, size_t *n);
/* Parse a duration ("90", "90s", "15m", "12h", "7d") for `opt`. CLI_OK or CLI_USAGE. */
int cli_duration(const char *cmd, const char *opt, const char *text, int64_t *seconds);
/* getopt_long over `options` ("+h" style: options stop at the first operand) with the CLI's
 * own error wording: an unknown option or a missing value is printed ("unknown option
 * '--x'", "--key needs a value") and returned as '?'. Set optind = 0 before the first call. */
int cli_getopt(const char *cmd, int argc, char **argv, const struct option *options);
/* Parse a whole number from 0 to `max` for `opt`. CLI_OK or CLI_USAGE (printed). */
int cli_uint(const char *cmd, const char *opt, const char *text, unsigned long max,
             unsigned long *out);

/* Open a private key: a context and the key from `uri` (the PIN from the URI's pin-source or
 * $HWJOSE_PIN, read by the library). Returns CLI_OK or the failure's exit code (printed). */
int cli_key_open(const char *cmd, const char *uri, int allow_extractable, hwj_ctx **ctx,
                 hwj_key **key);

/*
 * Verification keys and the alg allow-list, shared by `verify` and `jwt verify`. A command
 * adds CLI_VERIFY_LONG_OPTIONS to its getopt table and passes each option to
 * cli_verify_option(); a new key source (e.g. --jwks-uri) is one member, one option and one
 * case in util.c.
 */
enum {
    CLI_OPT_JWK = 0x100,
    CLI_OPT_JWKS,
    CLI_OPT_ALG,
    CLI_OPT_JWKS_URI,
    CLI_OPT_ALLOW_HTTP,
    CLI_OPT_JWKS_CA,
    CLI_OPT_ISSUER,             /* `jwt verify` only: not in CLI_VERIFY_LONG_OPTIONS */
    CLI_OPT_IN,                 /* the token from a file, so that a key may come from stdin */
    CLI_OPT_FIRST_FREE_ = 0x120 /* commands number their own long options from here */
};
#define CLI_VERIFY_LONG_OPTIONS                                                                    \
    {"jwk", required_argument, NULL, CLI_OPT_JWK},                                                 \
        {"jwks", required_argument, NULL, CLI_OPT_JWKS},                                           \
        {"alg", required_argument, NULL, CLI_OPT_ALG},                                             \
        {"jwks-uri", required_argument, NULL, CLI_OPT_JWKS_URI},                                   \
        {"allow-http", no_argument, NULL, CLI_OPT_ALLOW_HTTP},                                     \
        {"in", required_argument, NULL, CLI_OPT_IN},                                               \
    {                                                                                              \
        "jwks-ca", required_argument, NULL, CLI_OPT_JWKS_CA                                        \
    }

typedef struct cli_verify_keys {
    const char *jwk_path;
    const char *jwks_path;
    hwj_alg algs[CLI_MAX_LIST];
    size_t nalgs;
    hwj_jwks *set; /* loaded by cli_verify_load */
    /* --jwks-uri: the set is fetched through a JWKS cache (docs/jwks_cache.md) and `set`
     * then borrows from `snap`. */
    const char *jwks_uri;
    const char *issuer; /* --issuer: the jwks_uri found by OpenID Connect Discovery */
    int allow_http;
    const char *jwks_ca;
    hwj_jwks_cache *cache;
    hwj_jwks_snapshot *snap;
    const char *in_path; /* --in: the token's file (NULL or "-": stdin) */
} cli_verify_keys;

/* 1 if `opt` was a verification-key option (stored), 0 if not; -1 on a bad value (printed). */
int cli_verify_option(const char *cmd, cli_verify_keys *vk, int opt, const char *arg);
/* Load the set and settle the allow-list: the --alg values, or else the algs the keys are
 * bound to (every key must carry "alg"). CLI_OK or the exit code (printed). */
int cli_verify_load(const char *cmd, cli_verify_keys *vk);
void cli_verify_keys_free(cli_verify_keys *vk);

/* Write `len` bytes (and a newline when `newline`) to stdout and flush. Commands build their
 * whole output first and call this once, so a failure never leaves partial output behind.
 * CLI_OK, or CLI_INVALID when writing failed (printed). */
int cli_write(const char *cmd, const void *data, size_t len, int newline);

#endif
