#!/usr/bin/env bash
# The contract check: runs import, rerun, plan, update, verify and undo of samples/customers.csv
# through Stoplight Prism proxies that validate every request and reply against the vendor's
# published spec, in front of the built-in sandbox, and fails (exit 1, the violations printed)
# on any request-side violation but the documented spec quirk. Response-side violations are
# listed, not failed. See tests/contract/README.md.
#
# Usage: tests/contract/run.sh [--self-test]
#   --self-test  also send one deliberately bad create as ordinary traffic: the check must then
#                fail (exit 1) and print it. (Every run also sends a canary, a bad create to a
#                tenant of its own, and fails if the checker does not catch it.)
#
# Settings (environment): SHARED_API (the vendor specs; default ../shared/api beside the clone,
# else /work/shared/api), CONTRACT_CACHE (where Prism is installed; default
# ${XDG_CACHE_HOME:-~/.cache}/orgimport-contract), CONTRACT_DIR (work files and logs; default a
# fresh temp dir, removed at the end unless set), ORGIMPORT_BIN (default: the debug binary,
# built here with `cargo build`, which CI's tests have already compiled).
# Needs: Node.js 18 or newer with npm (Prism 5.14.2 declares 18.20.1; 20 on these machines),
# python3, curl, awk.
set -euo pipefail
cd "$(dirname "$0")/../.."
HERE=tests/contract

SELF_TEST=0
case "${1:-}" in
    "") ;;
    --self-test) SELF_TEST=1 ;;
    *) echo "usage: $0 [--self-test]" >&2; exit 2 ;;
esac

fail() { echo "contract check: $*" >&2; exit 1; }
started=$SECONDS

# --- the vendor specs -------------------------------------------------------------------------
if [ -z "${SHARED_API:-}" ]; then
    for dir in ../shared/api /work/shared/api; do
        [ -f "$dir/vendor-system.yaml" ] && { SHARED_API=$dir; break; }
    done
fi
if ! [ -f "${SHARED_API:-}/vendor-system.yaml" ] || ! [ -f "$SHARED_API/vendor-oauth2.yaml" ]; then
    fail "the vendor specs (vendor-system.yaml, vendor-oauth2.yaml) are not in ${SHARED_API:-../shared/api}; set SHARED_API"
fi

# --- the checker first: it allows the quirk only where it belongs ------------------------------
# fixtures/quirk-precision.log: the quirk's exact line on a create (allowed), and near misses
# (on a GET, a key deeper than payload, location and message naming different keys, another
# type), each of which must fail.
checked=$(python3 "$HERE/check-log.py" "$HERE/fixtures/quirk-precision.log") &&
    fail "check-log.py passed fixtures/quirk-precision.log, which breaks the spec"
if [ "$(grep -c '^  VIOLATION' <<<"$checked")" != 4 ] ||
    [ "$(grep -c '^  allowed quirk *1 ' <<<"$checked")" != 1 ]; then
    echo "$checked" >&2
    fail "check-log.py did not flag fixtures/quirk-precision.log's 4 near misses and allow its 1 quirk"
fi

# --- Prism, pinned by tests/contract/package-lock.json ----------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
    ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
    fail "Node.js 18 or newer and npm are needed for @stoplight/prism-cli (node: $(node --version 2>&1))"
fi
for tool in python3 curl; do
    command -v "$tool" >/dev/null || fail "$tool is needed"
done
CACHE=${CONTRACT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/orgimport-contract}
LOCK_SUM=$(sha256sum "$HERE/package-lock.json" | cut -c1-16)
PRISM_DIR=$CACHE/prism-$LOCK_SUM
PRISM=$PRISM_DIR/node_modules/.bin/prism
if [ ! -x "$PRISM" ]; then
    echo "== installing Prism (npm ci) into $PRISM_DIR" >&2
    rm -rf "$PRISM_DIR.tmp"
    mkdir -p "$PRISM_DIR.tmp"
    cp "$HERE/package.json" "$HERE/package-lock.json" "$PRISM_DIR.tmp/"
    (cd "$PRISM_DIR.tmp" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
        fail "npm ci of @stoplight/prism-cli failed (node $(node --version))"
    rm -rf "$PRISM_DIR"
    mv "$PRISM_DIR.tmp" "$PRISM_DIR"
fi
echo "prism $("$PRISM" --version), node $(node --version), specs from $SHARED_API" >&2

# --- the binary: debug, as CI's tests built it ------------------------------------------------
if [ -z "${ORGIMPORT_BIN:-}" ]; then
    echo "== building (debug)" >&2
    cargo build --locked --quiet --bin orgimport
    ORGIMPORT_BIN=${CARGO_TARGET_DIR:-target}/debug/orgimport
fi
BIN=$(realpath "$ORGIMPORT_BIN")

# --- work dir, processes ----------------------------------------------------------------------
if [ -n "${CONTRACT_DIR:-}" ]; then
    WORK=$(realpath -m "$CONTRACT_DIR")
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
fi
# The processes this script started (the sandbox, the proxies), stopped by their ids.
PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
trap 'stop_all; [ -n "${CONTRACT_DIR:-}" ] || rm -rf "$WORK"' EXIT

# The copies Prism reads: Prism ignores a Swagger 2.0 basePath, so each copy says `basePath: /`
# and its paths carry the prefix the real server serves them under.
awk -v prefix='/api/system/{tenant}' -f "$HERE/rewrite-spec.awk" \
    "$SHARED_API/vendor-system.yaml" >"$WORK/system.yaml"
awk -v prefix='/{tenant}/system' -f "$HERE/rewrite-spec.awk" \
    "$SHARED_API/vendor-oauth2.yaml" >"$WORK/oauth2.yaml"

# The sandbox and orgimport share a secret through the environment, never argv. The sandbox's
# stdout repeats it: it stays in $WORK/sandbox.out, which is never printed.
ORGIMPORT_CLIENT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ORGIMPORT_CLIENT_SECRET
TENANT=demo
CANARY_TENANT=contract-canary
TEMPLATE=b2b-customer-template

# listening PID FILE SED_EXPR WHAT SHOW: sets URL to the first match of SED_EXPR in FILE once
# it appears; if process PID ends first or two minutes pass, prints the end of SHOW and fails.
listening() {
    URL=
    for _ in $(seq 1200); do
        URL=$(sed -n "$3" "$2" | head -1)
        [ -n "$URL" ] && return 0
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    tail -20 "$5" >&2
    fail "$4 did not start"
}

"$BIN" sandbox --port 0 --tenant "$TENANT" --client-id contract --template-id "$TEMPLATE" \
    >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
PIDS+=($!)
listening "$!" "$WORK/sandbox.out" 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' \
    "the sandbox" "$WORK/sandbox.err"
SANDBOX=$URL

# start_prism SPEC LOG: a Prism proxy of SPEC in front of the sandbox, logging to LOG; sets
# PRISM_PID. Both start at once (each takes a while to read its spec), then are waited for.
start_prism() {
    NODE_ENV=development "$PRISM" proxy "$1" "$SANDBOX" --port 0 --host 127.0.0.1 \
        --errors=false >"$2" 2>&1 &
    PIDS+=($!)
    PRISM_PID=$!
}
echo "== starting Prism proxies in front of the sandbox ($SANDBOX)" >&2
proxies_started=$SECONDS
SYSTEM_LOG=$WORK/prism-system.log OAUTH2_LOG=$WORK/prism-oauth2.log
start_prism "$WORK/system.yaml" "$SYSTEM_LOG"
SYSTEM_PID=$PRISM_PID
start_prism "$WORK/oauth2.yaml" "$OAUTH2_LOG"
OAUTH2_PID=$PRISM_PID
LISTENING='s/.*Prism is listening on \(http:[^ ]*\).*/\1/p'
listening "$SYSTEM_PID" "$SYSTEM_LOG" "$LISTENING" "Prism (vendor-system.yaml)" "$SYSTEM_LOG"
SYSTEM_URL=$URL
listening "$OAUTH2_PID" "$OAUTH2_LOG" "$LISTENING" "Prism (vendor-oauth2.yaml)" "$OAUTH2_LOG"
OAUTH2_URL=$URL
echo "   $SYSTEM_URL (system), $OAUTH2_URL (oauth2), up in $((SECONDS - proxies_started))s" >&2

# orgimport talks to the proxies only; one request at a time, so that Prism's log lines are
# each the reply to the request just before them (check-log.py).
export ORGIMPORT_BASE_URL=$SYSTEM_URL ORGIMPORT_TENANT=$TENANT ORGIMPORT_CLIENT_ID=contract
export ORGIMPORT_TOKEN_URL=$OAUTH2_URL/$TENANT/system/oauth2/token
export NO_COLOR=1
SEQ=(--concurrency 1 --rate 1000)

# run NAME EXPECTED_EXIT COMMAND...: runs one step, its stderr kept in $WORK/NAME.err.
run() {
    local name=$1 expected=$2 code=0 start=$SECONDS
    shift 2
    echo "== $name: orgimport $*" >&2
    (cd "$WORK" && "$BIN" "$@") >"$WORK/$name.out" 2>"$WORK/$name.err" || code=$?
    if [ "$code" != "$expected" ]; then
        tail -30 "$WORK/$name.err" >&2
        fail "$name: orgimport exited $code, expected $expected"
    fi
    echo "   exit $code as expected, $((SECONDS - start))s" >&2
}
# json FILE EXPR: a value from a JSON file (EXPR in Python, the document as `d`).
json() { python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print($2)" "$1"; }
# expect WHAT ACTUAL WANTED
expect() { [ "$2" = "$3" ] || fail "$1: $2, expected $3"; }

# bad_create TENANT: a create whose body breaks the spec on purpose (name and domains of the
# wrong type, metadata.schema not an object), with a doc-style payload that is the quirk.
bad_create() {
    local token
    token=$(cd "$WORK" && "$BIN" token --show --template-id "$TEMPLATE" | sed -n 's/^access token: *//p')
    [ -n "$token" ] || fail "orgimport token --show printed no token"
    printf 'authorization: Bearer %s\n' "$token" >"$WORK/auth.header"
    curl -s -o /dev/null -X POST -H @"$WORK/auth.header" -H 'content-type: application/json' \
        --data-binary '{"name":42,"domains":"canary.example.com","template_id":"'"$TEMPLATE"'","metadata":{"payload":{"region":"EMEA"},"schema":"not-an-object"}}' \
        "$SYSTEM_URL/api/system/$1/organizations"
    rm -f "$WORK/auth.header"
}

cp samples/customers.csv "$WORK/customers.csv"
IMPORT=(--template-id "$TEMPLATE" "${SEQ[@]}")

run import 1 import customers.csv "${IMPORT[@]}" --summary-json import.json
expect "import: created" "$(json "$WORK/import.json" "d['counts'].get('created')")" 294
expect "import: invalid" "$(json "$WORK/import.json" "d['counts'].get('invalid')")" 6

if [ "$SELF_TEST" = 1 ]; then
    echo "== self-test: a bad create as ordinary traffic, which must fail the check" >&2
    bad_create "$TENANT"
fi

run rerun 1 import customers.csv "${IMPORT[@]}" --summary-json rerun.json
expect "rerun: rows sent" "$(json "$WORK/rerun.json" "d['sent']")" 0

# Five rows changed since the import: plan shows them, update changes them.
python3 - "$WORK/customers.csv" "$WORK/changed.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
for row in rows[1:6]:
    row[3] = "Changed since the import (contract check)."
with open(sys.argv[2], "w", newline="", encoding="utf-8") as f:
    csv.writer(f, lineterminator="\n").writerows(rows)
EOF
run plan 1 plan changed.csv "${IMPORT[@]}" --out changed.plan.csv
expect "plan: rows exists-different" \
    "$(python3 -c 'import csv, sys; print(sum(r["action"] == "exists-different" for r in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig"))))' "$WORK/changed.plan.csv")" 5

run update 1 import changed.csv "${IMPORT[@]}" --on-existing update --out changed.results.csv \
    --summary-json update.json
expect "update: updated" "$(json "$WORK/update.json" "d['counts'].get('updated')")" 5
expect "update: exists" "$(json "$WORK/update.json" "d['counts'].get('exists')")" 289

run verify 0 verify customers.results.csv --template-id "$TEMPLATE" "${SEQ[@]}"
run undo 0 undo customers.results.csv --yes "${SEQ[@]}"
expect "undo: deleted" "$(grep -c ',deleted,' "$WORK/customers.undo.csv")" 294

echo "== canary: a bad create to tenant $CANARY_TENANT, which the check must catch" >&2
bad_create "$CANARY_TENANT"

# Stopping the proxies flushes their logs.
sleep 0.5
stop_all

echo "== what Prism said${CONTRACT_DIR:+ (logs: $SYSTEM_LOG, $OAUTH2_LOG)}" >&2
code=0
python3 "$HERE/check-log.py" --canary-tenant "$CANARY_TENANT" \
    --expect "POST /{tenant}/system/oauth2/token" \
    --expect "POST /api/system/{tenant}/organizations" \
    --expect "GET /api/system/{tenant}/organizations/{wid}" \
    --expect "PUT /api/system/{tenant}/organizations/{wid}" \
    --expect "DELETE /api/system/{tenant}/organizations/{wid}" \
    "$SYSTEM_LOG" "$OAUTH2_LOG" >"$WORK/report.txt" || code=$?
cat "$WORK/report.txt"
for field in request.body.name request.body.domains request.body.metadata.schema; do
    grep -q "caught .* $field " "$WORK/report.txt" ||
        fail "the canary's bad $field was not caught: the check cannot be trusted"
done
[ "$code" = 0 ] || fail "request-side violations of the vendor's spec (above); $((SECONDS - started))s"
echo "contract check: passed in $((SECONDS - started))s (request side clean but for the documented quirk)" >&2
