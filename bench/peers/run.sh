#!/usr/bin/env bash
# Boundary check benchmark: `git comm check` against tach, import-linter and
# dependency-cruiser on real sources, same files, equivalent rules, one run.
#
# usage: bench/peers/run.sh            (from anywhere; needs python3, node/npm, cargo, git)
# env:   GIT_COMM_BIN  our binary (default: `cargo build --release`, target/release/git-comm)
#        BENCH_ONLY    corpora to run, space-separated (default: django rxjs tokio sqlalchemy)
#        RUNS          timed runs per command (default 5; the median is reported)
#        BENCH_WORK    scratch dir (default: <repo>/bench-work, git-ignored)
#
# Everything it needs is installed under BENCH_WORK from crates.io, PyPI and npm only.
# Results: a markdown table on stdout and in BENCH_WORK/results.md; raw outputs of the
# last run of every command in BENCH_WORK/out/.
set -euo pipefail
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WORK=${BENCH_WORK:-$ROOT/bench-work}
RUNS=${RUNS:-5}
STAGED_COUNT=10

DJANGO_VERSION=5.2.19
RXJS_VERSION=7.8.2
TOKIO_VERSION=1.43.0
SQLALCHEMY_VERSION=2.0.43
BENCH_ONLY=${BENCH_ONLY:-django rxjs tokio sqlalchemy}
TACH_VERSION=0.35.3
IMPORT_LINTER_VERSION=2.16
DEPCRUISE_VERSION=17.4.3
TYPESCRIPT_VERSION=5.9.3

DOWNLOADS=$WORK/downloads
CORPORA=$WORK/corpora
OUT=$WORK/out
RESULTS=$WORK/results.tsv
VENV=$WORK/venv
NODE=$WORK/node

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 2; }

need_tools() {
  local t
  for t in git python3 cargo awk $(wanted rxjs && echo npm node); do
    command -v "$t" >/dev/null || die "$t not found on PATH: install it first"
  done
}

# --- peer tools -------------------------------------------------------------

install_python_peers() {
  local want="tach==$TACH_VERSION import-linter==$IMPORT_LINTER_VERSION"
  if [[ -f $VENV/.installed && $(cat "$VENV/.installed") == "$want" ]]; then return; fi
  log "installing $want into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $want
  echo "$want" >"$VENV/.installed"
}

install_node_peers() {
  local want="dependency-cruiser@$DEPCRUISE_VERSION typescript@$TYPESCRIPT_VERSION"
  if [[ -f $NODE/.installed && $(cat "$NODE/.installed") == "$want" ]]; then return; fi
  log "installing $want into $NODE"
  rm -rf "$NODE"
  mkdir -p "$NODE"
  # shellcheck disable=SC2086
  npm install --silent --no-audit --no-fund --prefix "$NODE" $want >/dev/null
  echo "$want" >"$NODE/.installed"
}

# --- corpora ----------------------------------------------------------------

fetch_django() {
  local sdist
  sdist=$(find "$DOWNLOADS" -maxdepth 1 -iname "django-$DJANGO_VERSION.tar.gz" | head -1)
  if [[ -z $sdist ]]; then
    log "downloading Django $DJANGO_VERSION sdist from PyPI"
    "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps \
      --no-binary :all: -d "$DOWNLOADS" "django==$DJANGO_VERSION"
    sdist=$(find "$DOWNLOADS" -maxdepth 1 -iname "django-$DJANGO_VERSION.tar.gz" | head -1)
  fi
  local tmp=$WORK/tmp/django
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar xzf "$sdist" -C "$tmp" --strip-components=1
  make_repo django "$tmp" django
}

fetch_rxjs() {
  local tgz=$DOWNLOADS/rxjs-$RXJS_VERSION.tgz
  if [[ ! -f $tgz ]]; then
    log "downloading rxjs $RXJS_VERSION from npm"
    (cd "$DOWNLOADS" && npm pack --silent "rxjs@$RXJS_VERSION" >/dev/null)
  fi
  local tmp=$WORK/tmp/rxjs
  rm -rf "$tmp" && mkdir -p "$tmp"
  tar xzf "$tgz" -C "$tmp" --strip-components=1
  # Rx.global.js only points at the built bundle, which the sources do not include.
  rm -f "$tmp/src/Rx.global.js"
  make_repo rxjs "$tmp" src tsconfig.json package.json
}

fetch_tokio() {
  local scratch=$WORK/cargo-scratch
  local crate=$scratch/vendor/tokio-$TOKIO_VERSION
  if [[ ! -d $crate ]]; then
    log "downloading tokio $TOKIO_VERSION from crates.io (cargo vendor)"
    rm -rf "$scratch" && mkdir -p "$scratch/src"
    cat >"$scratch/Cargo.toml" <<EOF
[package]
name = "bench-scratch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
tokio = { version = "=$TOKIO_VERSION", default-features = false }

[workspace]
EOF
    : >"$scratch/src/lib.rs"
    cargo vendor --quiet --versioned-dirs --manifest-path "$scratch/Cargo.toml" \
      "$scratch/vendor" >/dev/null
  fi
  make_repo tokio "$crate" src Cargo.toml
}

# SQLAlchemy's lib (the sqlalchemy package) from its pure-Python wheel: the sdist's
# metadata step builds Cython first. Same .py files as the sdist's lib/.
fetch_sqlalchemy() {
  local wheel
  wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "sqlalchemy-$SQLALCHEMY_VERSION-py3-none-any.whl" | head -1)
  if [[ -z $wheel ]]; then
    log "downloading SQLAlchemy $SQLALCHEMY_VERSION (pure-Python wheel) from PyPI"
    "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
      --platform any --implementation py -d "$DOWNLOADS" "sqlalchemy==$SQLALCHEMY_VERSION"
    wheel=$(find "$DOWNLOADS" -maxdepth 1 -iname "sqlalchemy-$SQLALCHEMY_VERSION-py3-none-any.whl" | head -1)
  fi
  local tmp=$WORK/tmp/sqlalchemy
  rm -rf "$tmp" && mkdir -p "$tmp"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$tmp"
  make_repo sqlalchemy "$tmp" sqlalchemy
}

# make_repo NAME SRC_DIR PATH...: a fresh git repo holding PATHs of SRC_DIR plus the rules.
make_repo() {
  local name=$1 src=$2 repo=$CORPORA/$1
  shift 2
  rm -rf "$repo" && mkdir -p "$repo"
  (cd "$src" && cp -r "$@" "$repo/")
  python3 "$HERE/rules.py" "$name" "$repo"
  git -C "$repo" init --quiet --initial-branch=main
  git -C "$repo" add -A
  git -C "$repo" -c user.name=bench -c user.email=bench@localhost \
    commit --quiet --no-verify -m "corpus $name"
}

# --- our binary -------------------------------------------------------------

our_binary() {
  local bin=${GIT_COMM_BIN:-}
  if [[ -z $bin ]]; then
    log "building git-comm (cargo build --release) in $ROOT"
    (cd "$ROOT" && cargo build --release --quiet)
    bin=$ROOT/target/release/git-comm
  fi
  [[ -x $bin ]] || die "git-comm binary not found at $bin (set GIT_COMM_BIN)"
  mkdir -p "$WORK/bin"
  ln -sf "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$WORK/bin/git-comm"
  export PATH=$WORK/bin:$PATH
  if ! git comm check --help >/dev/null 2>&1; then
    log "WARNING: $bin has no working \`check\` command: measuring the peers only"
    HAVE_OURS=0
  else
    HAVE_OURS=1
  fi
}

# --- measuring --------------------------------------------------------------

# measure CORPUS SCENARIO TOOL KIND PREP -- CMD...
# Runs PREP (untimed, gets the run number) then CMD, RUNS times, in the corpus repo.
# Appends "corpus scenario tool kind median min max rc command cpu_median" to RESULTS:
# wall ms (EPOCHREALTIME around the command) and CPU ms (user + system time of the command
# and its children, from bash's `time`); the last run's stdout/stderr are kept in OUT for
# counting findings.
measure() {
  local corpus=$1 scenario=$2 tool=$3 kind=$4 prep=$5
  shift 6
  local key="$corpus.$scenario.$tool" times=() cpus=() i start end rc=0 cpu
  local timing=$WORK/tmp/time TIMEFORMAT='%3U %3S'
  log "$corpus / $scenario / $tool: $*"
  for ((i = 1; i <= RUNS; i++)); do
    if [[ $prep != - ]]; then "$prep" "$i"; fi
    rc=0
    start=$EPOCHREALTIME
    { time "$@" >"$OUT/$key.out" 2>"$OUT/$key.err"; } 2>"$timing" || rc=$?
    end=$EPOCHREALTIME
    times+=("$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", (e - s) * 1000 }')")
    cpu=$(awk '{ printf "%.1f", ($1 + $2) * 1000 }' "$timing")
    cpus+=("$cpu")
  done
  # Exit 0 = clean, 1 = violations found; anything else means the tool itself failed.
  if ((rc > 1)); then
    sed -n 1,20p "$OUT/$key.err" >&2
    die "$tool failed on $corpus (exit $rc): see $OUT/$key.err"
  fi
  local stats cpu_median
  stats=$(printf '%s\n' "${times[@]}" | sort -n | awk '
    { v[NR] = $1 }
    END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.1f\t%.1f\t%.1f", m, v[1], v[NR] }')
  cpu_median=$(printf '%s\n' "${cpus[@]}" | sort -n | awk '
    { v[NR] = $1 }
    END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$corpus" "$scenario" "$tool" "$kind" "$stats" "$rc" "$*" \
    "$cpu_median" >>"$RESULTS"
}

comm_cache_dir() { echo "$(git rev-parse --path-format=absolute --git-common-dir)/comm-node"; }

# Cold: nothing cached under <common git dir>/comm-node (the import cache lives in
# comm-node/imports). The OS page cache stays warm for every tool alike.
drop_comm_cache() { rm -rf "$(comm_cache_dir)"; }

# The staged scenario: STAGED_COUNT files spread over the corpus get a new line each
# run (so their blobs are new to every cache), and are staged.
STAGED_PATHS=()
pick_staged_paths() {
  local root=$1 ext=$2 total step
  total=$(git ls-files -- "$root" | grep -c "\\.$ext\$")
  step=$((total / STAGED_COUNT))
  mapfile -t STAGED_PATHS < <(git ls-files -- "$root" | grep "\\.$ext\$" |
    awk -v s="$step" 'NR % s == 0' | head -n "$STAGED_COUNT")
}
COMMENT='#'
stage_edits() {
  local run=$1 f
  for f in "${STAGED_PATHS[@]}"; do
    printf '%s bench edit %s\n' "$COMMENT" "$run" >>"$f"
  done
  git add -- "${STAGED_PATHS[@]}"
}

ours() {
  local corpus=$1
  ((HAVE_OURS)) || return 0
  measure "$corpus" "whole, cold cache" "git comm check" comm drop_comm_cache -- git comm check --format json
  git comm check --format json >/dev/null 2>&1 || true # fill the cache
  measure "$corpus" "whole, warm cache" "git comm check" comm - -- git comm check --format json
}

ours_staged() {
  local corpus=$1
  ((HAVE_OURS)) || return 0
  measure "$corpus" "staged, $STAGED_COUNT files" "git comm check --staged" comm stage_edits -- \
    git comm check --staged --format json
}

bench_django() {
  cd "$CORPORA/django"
  local tach=$VENV/bin/tach li=$VENV/bin/lint-imports li_cache=$WORK/tmp/import-linter-cache
  ours django
  measure django "whole, cold cache" "tach check" tach - -- "$tach" check --output json
  measure django "whole, cold cache" "lint-imports" lint-imports - -- "$li" --no-cache --no-logo
  rm -rf "$li_cache"
  "$li" --cache-dir "$li_cache" >/dev/null 2>&1 || true # fill its cache
  measure django "whole, warm cache" "tach check" tach - -- "$tach" check --output json
  measure django "whole, warm cache" "lint-imports" lint-imports - -- "$li" --cache-dir "$li_cache" --no-logo
  # Staged: neither peer has a staged mode; their pre-commit hooks run the whole check.
  COMMENT='#'
  pick_staged_paths django py
  ours_staged django
  stage_edits 0
  measure django "staged, $STAGED_COUNT files" "tach check" tach - -- "$tach" check --output json
  measure django "staged, $STAGED_COUNT files" "lint-imports" lint-imports - -- "$li" --cache-dir "$li_cache" --no-logo
  git reset --quiet --hard HEAD
}

bench_rxjs() {
  cd "$CORPORA/rxjs"
  local dc=$NODE/node_modules/.bin/depcruise dc_cache=$WORK/tmp/depcruise-cache
  ours rxjs
  measure rxjs "whole, cold cache" "depcruise" depcruise - -- "$dc" src --output-type json
  rm -rf "$dc_cache"
  "$dc" src --cache "$dc_cache" --output-type json >/dev/null 2>&1 || true # fill its cache
  measure rxjs "whole, warm cache" "depcruise" depcruise - -- "$dc" src --cache "$dc_cache" --output-type json
  COMMENT='//'
  pick_staged_paths src ts
  ours_staged rxjs
  stage_edits 0
  # depcruise's own answer to "check what changed": --affected (changed since HEAD + dependents).
  measure rxjs "staged, $STAGED_COUNT files" "depcruise --affected" depcruise - -- \
    "$dc" src --affected HEAD --output-type json
  git reset --quiet --hard HEAD
}

bench_tokio() {
  cd "$CORPORA/tokio"
  ours tokio
  COMMENT='//'
  pick_staged_paths src rs
  ours_staged tokio
  git reset --quiet --hard HEAD
}

# Indirect rules (rules.py: five forbidden contracts, chains through any module), cold:
# the peer is import-linter with the same contracts, without its cache.
bench_sqlalchemy() {
  cd "$CORPORA/sqlalchemy"
  local li=$VENV/bin/lint-imports
  ((HAVE_OURS)) && measure sqlalchemy "whole, cold cache, indirect rules" "git comm check" comm \
    drop_comm_cache -- git comm check --format json
  measure sqlalchemy "whole, cold cache, indirect rules" "lint-imports" lint-imports - -- \
    "$li" --no-cache --no-logo
}

wanted() { [[ " $BENCH_ONLY " == *" $1 "* ]]; }

main() {
  need_tools
  mkdir -p "$WORK" "$DOWNLOADS" "$CORPORA" "$OUT" "$WORK/tmp"
  install_python_peers
  if wanted rxjs; then install_node_peers; fi
  our_binary
  local corpus
  for corpus in $BENCH_ONLY; do "fetch_$corpus"; done
  : >"$RESULTS"
  for corpus in $BENCH_ONLY; do "bench_$corpus"; done
  cd "$ROOT"
  local versions="Django $DJANGO_VERSION (PyPI sdist), rxjs $RXJS_VERSION (npm), tokio $TOKIO_VERSION (crates.io),"
  versions+=" SQLAlchemy $SQLALCHEMY_VERSION (PyPI wheel);"
  versions+=" tach $TACH_VERSION, import-linter $IMPORT_LINTER_VERSION,"
  versions+=" dependency-cruiser $DEPCRUISE_VERSION + typescript $TYPESCRIPT_VERSION"
  python3 "$HERE/report.py" "$RESULTS" "$OUT" "$CORPORA" "$RUNS" "$versions" | tee "$WORK/results.md"
}

main "$@"
