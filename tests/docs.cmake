# The documents that are contracts: docs/deploy.md's systemd unit (systemd-analyze verify) and
# docs/openapi.yaml (a real OpenAPI validator; its error codes against docs/api.md's).
hwj_script_test(test_deploy_unit docs/test_deploy_unit.sh TIMEOUT 120)
hwj_script_test(test_openapi docs/test_openapi.sh TIMEOUT 120)
