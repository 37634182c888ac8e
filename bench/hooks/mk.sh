#!/bin/bash
# Recreate the hooks bench repository (5000 TS files, leases, one indirect rule, hooks), packed.
# usage: BIN=... [RULE=1] [HOOKS=0] mk.sh DIR
set -e
BIN=${BIN:?}
R=$1; rm -rf "$R"; mkdir -p "$R"; cd "$R"
export PATH=$(dirname $BIN):$PATH GIT_COMM_AGENT=bob
git init -q -b main; git config user.name Bench; git config user.email b@e.com; git config commit.gpgsign false
python3 - <<'PY'
import os
D=50
for i in range(5000):
    d=i%D; os.makedirs(f"src/mod{d:02}",exist_ok=True)
    t=""
    if i>=D: t+=f'import {{ v{i-D} }} from "./file{i-D:04}";\n'
    if d not in (0,10): t+=f'import {{ v{i-1} }} from "../mod{d-1:02}/file{i-1:04}";\n'
    t+=f"export const v{i} = {i};\n"
    open(f"src/mod{d:02}/file{i:04}.ts","w").write(t)
PY
find src -type f -exec touch -d "1 hour ago" {} +
git add -A; git commit -q -m 5000
git gc -q
for a in alice bob carol; do git-comm --as $a join >/dev/null; done
git-comm --as alice lease 'src/mod00/**' --ttl 1d >/dev/null
git-comm --as alice lease 'docs/**' task:7 --ttl 1d >/dev/null
git-comm --as carol lease 'src/mod01/*.ts' --ttl 1d >/dev/null
git-comm --as carol lease 'src/mod02/**' --shared --ttl 1d >/dev/null
mkdir -p .comm-node
if [ -n "$RULE" ]; then
printf 'version: 1\ndomains:\n  top:\n    scope: ["src/mod4*/**"]\n    forbidden_imports: [{path: "src/mod0*/**", indirect: true}]\n' > .comm-node/config.yaml
git add .comm-node/config.yaml; git commit -q -m rule
fi
if [ "${HOOKS:-1}" = 1 ]; then git-comm hooks install >/dev/null; fi
