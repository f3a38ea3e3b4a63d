/* sign.c: STUB, being implemented. */
#include "cli/cli.h"

int cmd_sign(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "hwjose sign: not implemented yet\n");
    return CLI_USAGE;
}
