#!/usr/bin/env bash
# Demo of the real binary on real temp repositories: agents exchange mail, hand an artifact
# across two clones through a bare remote (with a wait that returns), commit a shared file
# under a lease without bypass, get blocked by another agent's lease and by a boundary, and a
# bypass is recorded.
#
# First it installs git-comm with `cargo install --path . --debug --locked`: into
# ~/.cargo/bin (or $CARGO_INSTALL_ROOT/bin, $CARGO_HOME/bin), where git finds it as `git comm` afterwards. The dev
# profile (dependencies optimised, see Cargo.toml) is the one ./scripts/test.sh builds, so
# the two commands share one build of the dependencies.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
ORIGINAL_PATH="$PATH"
cargo install --quiet --debug --locked --path "$root"
export PATH="$bin:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

# Echo a command as it would be typed (arguments with spaces or shell characters quoted).
show() {
  local out="" arg
  for arg in "$@"; do
    if [[ "$arg" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $arg"; else out+=" '${arg//\'/\'\\\'\'}'"; fi
  done
  printf '\n$%s\n' "$out"
}
run() { show "$@"; "$@"; }
# Runs a command that must fail (the guard refusing), shows its message.
refused() { show "$@"; if "$@"; then echo "demo: expected this to be refused" >&2; exit 1; fi; }

echo "git comm: many coding agents work on one codebase and coordinate through git alone:"
echo "mail, leases, artifacts and boundary checks live in refs; hooks enforce them; no server."

git init -q --bare -b main hub.git
git init -q -b main shop && cd shop
git config user.name demo && git config user.email demo@localhost
mkdir -p src/api src/ui .comm-node
cat > .comm-node/config.yaml <<'YAML'
version: 1
domains:
  api: { scope: ["src/api/**"], forbidden_imports: ["src/ui/**"] }
  ui:  { scope: ["src/ui/**"] }
agents:
  alice: { domain: api }
  carol: { domain: api }
  bob: { domain: ui }
YAML
echo 'export const button = () => "<button/>";' > src/ui/button.ts
echo 'export const orders = [];' > src/api/orders.ts
echo '# Changelog' > CHANGELOG.md
git add . && git commit -q -m "shop skeleton"
git remote add origin ../hub.git && git push -q origin main

run git comm join alice --role backend
run git comm join bob --role frontend
run git comm join carol --role backend
run git comm hooks install

echo; echo "# 1. mail"
id=$(git comm --as alice --format compact send bob -s "API contract ready" -m "POST /orders takes {sku, qty}." --task T-1 --ack)
show git comm --as alice send bob -s "API contract ready" -m "POST /orders takes {sku, qty}." --task T-1 --ack
echo "sent $id"
run git comm --as bob inbox
run git comm --as bob reply "$id" -m "Thanks, wiring the form now."
run git comm --as bob ack "$id"
run git comm --as alice show "$id"

echo; echo "# 2. an artifact handed to another machine: bob works in a second clone of the hub"
run git comm sync
echo; echo "# (second machine: a clone of the hub, where bob waits for the contract in the background)"
cd "$work" && git clone -q hub.git shop-b && cd shop-b
git config user.name demo-b && git config user.email demo-b@localhost
run git comm sync
show git comm --as bob wait api/openapi.json --timeout 60
git comm --as bob wait api/openapi.json --timeout 60 > "$work/wait.out" &
waiter=$!
echo; echo "# (first machine: alice publishes and syncs)"
cd "$work/shop"
echo '{"paths": {"/orders": {}}}' > openapi.json
run git comm --as alice publish api/openapi.json openapi.json -m "first contract"
run git comm sync
wait "$waiter"
echo; echo "# (second machine: bob's wait returned by itself, no loop:)"
cat "$work/wait.out"
cd "$work/shop-b"
run git comm --as bob get api/openapi.json
echo; echo "# (back on the first machine)"
cd "$work/shop"

echo; echo "# 3. a shared file (in no domain) committed under a lease, no --no-verify"
run git comm --as alice lease CHANGELOG.md --reason "release notes" --ttl 10m
echo '- orders API' >> CHANGELOG.md
run env GIT_COMM_AGENT=alice git commit -q -am "changelog: orders API"
run git comm --as alice release --all

echo; echo "# 4. leases: carol reserves the orders module; alice's commit touching it is blocked"
run git comm --as carol lease 'src/api/orders*' --reason "schema change" --ttl 1h
echo 'export const orders = [1];' > src/api/orders.ts
git add src/api/orders.ts
refused env GIT_COMM_AGENT=alice git commit -q -m "seed orders"
echo; echo "# ... and a bypass is recorded: carol is told"
run env GIT_COMM_AGENT=alice git commit -q --no-verify -m "seed orders anyway"
run git comm --as carol inbox --format compact
run git comm --as carol release --all

echo; echo "# 5. boundaries: api may not import ui; the commit is blocked at pre-commit"
printf 'import { button } from "../ui/button";\nexport const orders = [button];\n' > src/api/orders.ts
git add src/api/orders.ts
run git comm check --staged || true
refused env GIT_COMM_AGENT=alice git commit -q -m "render in api"

echo; echo "# the audit trail is plain git"
run git log --format='%h %an via %cn: %s' refs/comm-node/mail
run git log --format='%h %an: %s' refs/comm-node/leases

echo
echo "# git comm is installed: $bin/git-comm"
if [ "$(PATH="$ORIGINAL_PATH" command -v git-comm)" = "$bin/git-comm" ]; then
  echo "It is on your PATH: run \`git comm -h\` in any repository."
else
  echo "It is not on your PATH yet. Run this (and add it to your shell's profile):"
  echo "  export PATH=\"$bin:\$PATH\""
fi
