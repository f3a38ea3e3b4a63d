# The hwjose CLI contract (docs/cli.md): sign, verify, jwt, jwks, thumbprint.
hwj_script_test(test_cli cli/test_cli.sh TIMEOUT 120)
# Interop with panva/jose (node): JWT and JWS both ways for RS256, PS256, ES256, EdDSA.
hwj_script_test(test_interop_jose cli/test_interop_jose.sh TIMEOUT 180)
