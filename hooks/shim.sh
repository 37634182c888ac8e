#!/bin/sh
# git-comm hook shim (@HOOK@): written by `git comm hooks install`.
# `git comm hooks uninstall` removes it and restores the hook it replaced.
hook='@HOOK@'
recorded='@BIN@'
# Parameter expansion, not dirname: a subprocess per commit costs more than our check.
case "$0" in
*/*) dir=${0%/*} ;;
*) dir=. ;;
esac
chained="$dir/$hook.pre-comm"

if command -v git-comm >/dev/null 2>&1; then
    comm=git-comm
elif [ -x "$recorded" ]; then
    comm=$recorded
else
    if [ "$hook" = post-commit ]; then
        echo "git-comm: commit made but NOT checked: git-comm is not on PATH and $recorded is missing." >&2
        echo "  fix: install git-comm or put it on PATH; then tell the lease holders what you committed." >&2
        if [ -x "$chained" ]; then
            exec "$chained" "$@"
        fi
        exit 0
    fi
    if [ "$hook" = pre-receive ]; then
        echo "git-comm: the server guard cannot run: git-comm is not on PATH and $recorded is missing; push refused." >&2
        echo "  fix (on the server): install git-comm or put it on PATH, or run git comm server uninstall." >&2
        exit 1
    fi
    verb=commit
    [ "$hook" = pre-push ] && verb=push
    echo "git-comm: the $hook check cannot run: git-comm is not on PATH and $recorded is missing." >&2
    echo "  fix: install git-comm (cargo install --path <comm-node source>) or put it on PATH," >&2
    echo "       or remove this shim ($0) and rename $hook.pre-comm back if it exists." >&2
    echo "  bypass once: git $verb --no-verify (unchecked and not recorded while git-comm is missing)." >&2
    exit 1
fi

case "$hook" in
pre-push|pre-receive)
    # Both the chained hook and git-comm read the pushed refs from stdin.
    input=$(mktemp "${TMPDIR:-/tmp}/git-comm-pre-push.XXXXXX") || exit 1
    cat >"$input"
    status=0
    if [ -x "$chained" ]; then
        "$chained" "$@" <"$input" || status=$?
    fi
    if [ "$status" -eq 0 ]; then
        "$comm" hook "$hook" "$@" <"$input" || status=$?
    fi
    rm -f "$input"
    exit "$status"
    ;;
post-commit)
    if [ -x "$chained" ]; then
        "$chained" "$@"
    fi
    exec "$comm" hook "$hook" "$@"
    ;;
*)
    if [ -x "$chained" ]; then
        "$chained" "$@" || exit $?
    fi
    exec "$comm" hook "$hook" "$@"
    ;;
esac
