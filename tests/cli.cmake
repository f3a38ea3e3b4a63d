# The hwjose CLI contract (docs/cli.md): sign, verify, jwt, jwks, thumbprint.
hwj_script_test(test_cli cli/test_cli.sh TIMEOUT 120)
