# tests/cli/lib.sh: the CLI tests' shared checks. The sourcing script defines $w (a scratch
# directory) and ok/fail (which count results its own way).

# t NAME WANT_RC STDIN_FILE CMD...: run CMD with stdin from STDIN_FILE (or /dev/null for "-"),
# stdout to $w/out, stderr to $w/err. Any failure must leave stdout empty and say why.
t() {
    local name=$1 want=$2 in=$3 rc=0
    shift 3
    [ "$in" = - ] && in=/dev/null
    "$@" <"$in" >"$w/out" 2>"$w/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want; stderr: $(head -c 400 "$w/err")"
    elif [ "$want" -ne 0 ] && [ -s "$w/out" ]; then
        fail "$name: exit $rc but wrote to stdout: $(head -c 200 "$w/out")"
    elif [ "$want" -ne 0 ] && [ ! -s "$w/err" ]; then
        fail "$name: exit $rc without a message on stderr"
    else
        ok "$name"
        return 0
    fi
    return 1
}
# err_has TEXT: the last command's stderr contains TEXT.
err_has() {
    if grep -qF -- "$1" "$w/err"; then ok "  stderr says '$1'"; else fail "  stderr lacks '$1': $(cat "$w/err")"; fi
}
# err_lacks TEXT: the last command's stderr does not contain TEXT (a hint that does not apply).
err_lacks() {
    if grep -qF -- "$1" "$w/err"; then fail "  stderr says '$1': $(cat "$w/err")"; else ok "  stderr lacks '$1'"; fi
}
# same NAME FILE1 FILE2
same() { if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ"; fi; }
