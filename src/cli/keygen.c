/* keygen.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_keygen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose keygen: not implemented yet\n");
    return CLI_USAGE;
}

int cmd_keys(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose keys: not implemented yet\n");
    return CLI_USAGE;
}
