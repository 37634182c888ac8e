#!/usr/bin/env bash
# Demo: agents coordinate through git alone, using the real binary on a real temp repo:
# mail, a lease that blocks another agent's commit, and a boundary violation blocked at commit.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --release --quiet --manifest-path "$root/Cargo.toml"
export PATH="$root/target/release:$PATH"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
run() { printf '\n$ %s\n' "$*"; "$@"; }
# Runs a command that must fail (the guard refusing), shows its message.
refused() { printf '\n$ %s\n' "$*"; if "$@"; then echo "demo: expected this to be refused" >&2; exit 1; fi; }

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
git add . && git commit -q -m "shop skeleton"

run git comm join alice --role backend
run git comm join bob --role frontend
run git comm join carol --role backend
run git comm hooks install
echo; echo "# 1. mail"
run git comm --as alice send bob -s "API contract ready" -m "POST /orders takes {sku, qty}." --task T-1 --ack
run git comm --as bob inbox
first=$(git log --format=%H -1 refs/comm-node/mail)
run git comm --as bob reply "$first" -m "Thanks, wiring the form now."
run git comm --as alice inbox --format compact

echo; echo "# 2. leases: carol reserves the orders module; alice's commit touching it is blocked"
run git comm --as carol lease 'src/api/orders*' --reason "schema change" --ttl 1h
echo 'export const orders = [1];' > src/api/orders.ts
git add src/api/orders.ts
refused env GIT_COMM_AGENT=alice git commit -q -m "seed orders"
run git comm --as carol release --all

echo; echo "# 3. boundaries: api may not import ui; the commit is blocked at pre-commit"
printf 'import { button } from "../ui/button";\nexport const orders = [button];\n' > src/api/orders.ts
git add src/api/orders.ts
run git comm check --staged || true
refused env GIT_COMM_AGENT=alice git commit -q -m "render in api"

echo; echo "# the audit trail is plain git"
run git log --format='%h %an: %s' refs/comm-node/mail
run git log --format='%h %an: %s' refs/comm-node/leases
