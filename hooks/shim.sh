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
    # The usual case, decided here without starting git-comm (builtins only): the receipt
    # was written by the pre-commit of this very `git commit` (our parent, named by pid and
    # start time), so what is committed is what it approved. The receipt is emptied, so it
    # never serves twice. Anything else: git-comm checks the commit.
    gitdir=${GIT_DIR:-}
    if [ -z "$gitdir" ] && [ -d .git ]; then
        gitdir=.git
    elif [ -z "$gitdir" ] && [ -f .git ]; then
        read -r gitdir <.git
        gitdir=${gitdir#gitdir: }
    fi
    receipt="$gitdir/comm-node/pre-commit-approved"
    if [ -n "$gitdir" ] && [ -s "$receipt" ] && [ -r "/proc/$PPID/stat" ] &&
        read -r _when _digest pid start <"$receipt" && [ "$pid" = "$PPID" ]; then
        read -r stat <"/proc/$PPID/stat"
        set -- ${stat##*) }
        [ $# -gt 19 ] && shift 19
        if [ $# -gt 0 ] && [ "$start" = "$1" ]; then
            : >"$receipt"
            exit 0
        fi
    fi
    exec "$comm" hook "$hook"
    ;;
*)
    if [ -x "$chained" ]; then
        "$chained" "$@" || exit $?
    fi
    exec "$comm" hook "$hook" "$@"
    ;;
esac
