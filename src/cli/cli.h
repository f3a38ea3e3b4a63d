/* cli.h: the hwjose command line. Each subcommand is one function in its own
 * file; main.c dispatches. Commands use only the public API (include/hwjose). */
#ifndef HWJ_CLI_H
#define HWJ_CLI_H

#include <hwjose/hwjose.h>
#include <stdio.h>

/* Exit codes (stable; docs/cli.md). */
enum {
    CLI_OK = 0,
    CLI_INVALID = 1, /* verification/decryption/claims failed, or the operation failed */
    CLI_USAGE = 2,   /* usage or input error */
};

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
} cli_command;

int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_jwt(int argc, char **argv);
int cmd_dpop(int argc, char **argv);
/* `jwt inspect` / `jwt decode` (argv[0] is the subcommand). */
int cmd_jwt_inspect(int argc, char **argv);
int cmd_jwks(int argc, char **argv);
int cmd_thumbprint(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_keys(int argc, char **argv);
/* `keys rotate` and `keys versions` (argv[0] is the subcommand). */
int cmd_keys_store(int argc, char **argv);
int cmd_encrypt(int argc, char **argv);
int cmd_decrypt(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_audit(int argc, char **argv);

#endif
