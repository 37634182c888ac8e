#!/usr/bin/env bash
# Demo: two agents coordinate through git alone, using the real binary on a real temp repo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
export PATH="$root/target/release:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { printf '\n$ %s\n' "$*"; "$@"; }

git init -q -b main demo && cd demo
git config user.name demo && git config user.email demo@localhost
run git comm init >/dev/null
run git comm join alice --role backend
run git comm join bob --role frontend
run git comm --as alice send bob -s "API contract ready" -m "POST /orders takes {sku, qty}." --type info --task T-1
run git comm --as bob inbox
first=$(git log --format=%H -1 refs/comm-node/mail)
run git comm --as bob reply "$first" -m "Thanks, wiring the form now." --ack
run git comm --as alice inbox --format compact
run git log --format='%h %an: %s' refs/comm-node/mail
