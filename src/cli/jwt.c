/* jwt.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_jwt(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose jwt: not implemented yet\n");
    return CLI_USAGE;
}
