#!/usr/bin/env bash
# The test command: installs what the tests drive, runs EVERY test target (the crash-point
# tests with the failpoints feature, then the MCP server test with the mcp feature), keeps
# going past failures, and ends with one line per test target and a total.
#
#   ./scripts/test.sh            as root: installs missing programs with apt-get
#   ./scripts/test.sh            not root: lists what is missing and the sudo line to run
#
# Everything builds in the dev profile (dependencies optimised, see Cargo.toml), the
# profile ./scripts/demo.sh installs from, so the two commands share one dependency build.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

need() { command -v "$1" >/dev/null 2>&1; }

# Debian/Ubuntu package for each program the tests run, when it is missing.
missing_packages() {
  need git || echo git
  need cc || echo gcc
  need tmux || echo tmux                                  # oversight: `watch` in a real tmux
  need chromium || need chromium-browser || echo chromium # oversight: the report, headless
  [ -x /usr/sbin/lighttpd ] || need lighttpd || echo lighttpd  # remotes, server: smart HTTP
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || echo python3-venv  # mcp, pre-commit
  need man || echo man-db                                 # cli_help renders the man pages
  need gitolite || echo gitolite3                         # gitolite: the hosting stack
  [ -x /usr/sbin/sshd ] || echo openssh-server            # gitolite: sshd on 127.0.0.1
  need ssh-keygen || echo openssh-client                  # gitolite: one key per agent
  [ -f /usr/share/bash-completion/completions/git ] || echo git  # completions: git's own bash completion
}

install_missing() {
  local packages
  packages="$(missing_packages | sort -u | tr '\n' ' ')"
  [ -z "${packages// /}" ] && return 0
  if [ "$(id -u)" = 0 ] && need apt-get; then
    echo "== installing: $packages"
    # Non-interactive: gitolite3's debconf question (an admin key) is left unanswered, so
    # the package sets up no system-wide gitolite; the tests run their own in a temp dir.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq $packages >/dev/null
    return
  fi
  echo "test.sh: these programs are missing and the tests need them: $packages" >&2
  if need apt-get; then
    echo "run:  sudo apt-get install -y $packages   then run ./scripts/test.sh again" >&2
  else
    echo "install them with your package manager, then run ./scripts/test.sh again" >&2
  fi
  exit 2
}

# Tests commit in temporary repositories: give git an identity if this machine has none.
ensure_git_identity() {
  git config user.email >/dev/null 2>&1 && return
  export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@localhost
  export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@localhost
}

# One line per test target from cargo's log: its name, then ok/FAILED and the counts.
summarise() {
  awk '
    /^ *Running / { target = $2; if (target == "unittests") target = $3 }
    /^test result:/ {
      status = ($3 == "ok.") ? "ok" : "FAILED"
      sub(/^test result: [^ ]* /, "")
      sub(/; finished in.*/, "")
      printf "%-6s %-34s %s\n", status, target, $0
      targets++; if (status != "ok") failed++
    }
    /^error: could not compile|^error\[/ { broken = 1 }
    END {
      if (broken) print "FAILED (a test target did not compile: see the log)"
      printf "%d test targets, %d failed\n", targets, failed + 0
    }' "$1"
}

install_missing
ensure_git_identity
log="$root/target/test-report.log"
mkdir -p "$root/target"
: > "$log"
status=0
runs=""
# Run one cargo command into the log; remember how it ended, for the report.
run_cargo() {
  echo "== cargo $*"
  cargo "$@" 2>&1 | tee -a "$log"
  local code=${PIPESTATUS[0]}
  if [ "$code" = 0 ]; then
    runs+="ok     cargo $*"$'\n'
  else
    runs+="FAILED cargo $* (exit $code)"$'\n'
    status=1
  fi
}
run_cargo test --features failpoints --no-fail-fast
run_cargo test --features mcp --test mcp

echo
echo "== every test target (log: target/test-report.log)"
summarise "$log"
printf '%s' "$runs"
exit "$status"
