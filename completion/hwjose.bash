# bash completion for hwjose(1). Options are read from `hwjose <command> --help`, so they follow
# the binary; key URIs for --key/--token/--decrypt-key from `hwjose keys --json` (the default
# PKCS#11 module's tokens; PINs are never asked for).

_hwjose_opts() { # the long options `hwjose $*` --help lists
    "${_hwjose_bin:-hwjose}" "$@" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9_-]*' | sort -u
}

_hwjose_uris() {
    timeout 5 "${_hwjose_bin:-hwjose}" keys --json 2>/dev/null |
        grep -oE '"uri" *: *"[^"]*"' | sed -E 's/^"uri" *: *"//; s/"$//'
}

_hwjose_subs() { # the subcommands of command $1
    case $1 in
    jwt) echo "issue verify inspect decode" ;;
    audit) echo "verify" ;;
    dpop) echo "proof verify" ;;
    keys) echo "rotate versions" ;;
    esac
}

_hwjose() {
    local cur prev
    _hwjose_bin=${COMP_WORDS[0]}
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    local commands="sign verify jwt encrypt decrypt jwks thumbprint keygen keys serve audit dpop"
    local -a cmd=()
    local i w subs=
    # The command is the first word that names one, the subcommand the next word that names
    # one of its subcommands: option values (`sign --key URI --`) are neither.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        [[ $w == -* ]] && continue
        if [ ${#cmd[@]} -eq 0 ]; then
            [[ " $commands " == *" $w "* ]] && cmd+=("$w")
        elif [ ${#cmd[@]} -eq 1 ]; then
            [[ " $(_hwjose_subs "${cmd[0]}") " == *" $w "* ]] && cmd+=("$w")
        fi
    done
    if [ ${#cmd[@]} -eq 0 ]; then
        mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
        return
    fi
    subs=$(_hwjose_subs "${cmd[0]}")
    if [ -n "$subs" ] && [ ${#cmd[@]} -eq 1 ] && [[ $cur != -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
        return
    fi
    case $prev in
    --key | --token | --decrypt-key | --uri)
        mapfile -t COMPREPLY < <(compgen -W "$(_hwjose_uris)" -- "$cur")
        return
        ;;
    --jwk | --jwks | --in | --payload | --password-file | --encrypt-to | --config | --jwks-ca | \
        --check-config | --checkpoint-jwks | --last-checkpoint)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        return
        ;;
    --alg | --key-alg)
        mapfile -t COMPREPLY < <(compgen -W "ES256 ES384 ES512 RS256 RS384 RS512 PS256 PS384
            PS512 EdDSA Ed25519 HS256 HS384 HS512 RSA-OAEP RSA-OAEP-256 ECDH-ES ECDH-ES+A128KW
            ECDH-ES+A192KW ECDH-ES+A256KW A128KW A192KW A256KW dir" -- "$cur")
        return
        ;;
    --enc)
        mapfile -t COMPREPLY < <(compgen -W "A128GCM A192GCM A256GCM A128CBC-HS256
            A192CBC-HS384 A256CBC-HS512" -- "$cur")
        return
        ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_hwjose_opts "${cmd[@]}")" -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}
complete -F _hwjose hwjose
