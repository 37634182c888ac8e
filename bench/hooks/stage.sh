#!/bin/bash
# Change and stage the bench's 10 files (directory mod10) in repo $1 with a new value.
cd "$1"
n=$(( $(cat .git/round 2>/dev/null || echo 100) + 1 )); echo $n > .git/round
paths=()
for k in 0 1 2 3 4 5 6 7 8 9; do
  i=$((10 + k*50)); p=$(printf 'src/mod10/file%04d.ts' $i)
  printf 'import { v%d } from "./file%04d";\nexport const v%d = %d;\n' $((i-50)) $((i-50)) $i $n > $p
  [ $i -lt 50 ] && printf 'export const v%d = %d;\n' $i $n > $p
  paths+=($p)
done
git add "${paths[@]}"
