#!/usr/bin/env bash
# Benchmarks orgimport against its sandbox, run in its own process on 127.0.0.1, and prints
# each figure as a ratio measured side by side in this one run (see BENCHMARKS.md).
#
# Usage: bench/run.sh [all|rate|fidelity|auto|overshoot|limiters|throughput|latency|validate|memory|resume|workbook]...
# (rate = fidelity auto overshoot limiters)
#
# Settings (environment): BENCH_DIR (work files; default a fresh temp dir, removed at the end
# unless set), BENCH_CONCURRENCY (throughput concurrency, default 32), BENCH_THROUGHPUT_ROWS
# (default 50000), BENCH_PAIRS (orgimport/oha pairs, taken in turn; default 3),
# BENCH_BIG_ROWS (the "million-row" figures, default 1000000), OHA (path of the oha load
# generator, default oha on PATH or ~/.cargo/bin/oha), BENCH_BASE (another build's orgimport,
# e.g. main's: latency, validate, memory, resume and workbook then run it too, on the same files, for
# figures side by side; latency takes BENCH_PAIRS pairs, this build then the base),
# BENCH_LIMITER_SECONDS (each limiters run, default 30), BENCH_PROFILE (default release).
set -euo pipefail
cd "$(dirname "$0")/.."

what=("$@")
[ ${#what[@]} -eq 0 ] && what=(all)
wants() {
    local w
    for w in "${what[@]}"; do
        [ "$w" = all ] || [ "$w" = "$1" ] && return 0
        # "rate" is the three rate sections.
        [ "$w" = rate ] && [[ "$1" =~ ^(fidelity|auto|overshoot|limiters)$ ]] && return 0
    done
    return 1
}

CONCURRENCY=${BENCH_CONCURRENCY:-32}
THROUGHPUT_ROWS=${BENCH_THROUGHPUT_ROWS:-50000}
PAIRS=${BENCH_PAIRS:-3}
BIG_ROWS=${BENCH_BIG_ROWS:-1000000}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
BASE=${BENCH_BASE:-}
# How long each run of the limiters section may take (seconds): it is stopped with Ctrl-C then.
LIMITER_SECONDS=${BENCH_LIMITER_SECONDS:-30}
# No rate limit: a rate no run comes near.
UNLIMITED=1000000/s

if [ -n "${BENCH_DIR:-}" ]; then
    WORK=$BENCH_DIR
    mkdir -p "$WORK"
else
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
fi

# BENCH_PROFILE=dev measures the debug build (for the paced sections only, whose figures are
# set by the pace, not by CPU time).
PROFILE=${BENCH_PROFILE:-release}
DIR=$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
echo "== building ($PROFILE)" >&2
cargo build --profile "$PROFILE" --locked --quiet --bin orgimport --example csv_floor \
    --example xlsx_floor
BIN=target/$DIR/orgimport
FLOOR=target/$DIR/examples/csv_floor
XLSX_FLOOR=target/$DIR/examples/xlsx_floor

# The sandbox and the importer share a secret through the environment, never argv.
ORGIMPORT_CLIENT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export ORGIMPORT_CLIENT_SECRET
export ORGIMPORT_TENANT=demo ORGIMPORT_CLIENT_ID=bench ORGIMPORT_TEMPLATE_ID=b2b-customer-template

SANDBOX_PID=
stop_sandbox() {
    if [ -n "$SANDBOX_PID" ]; then
        kill "$SANDBOX_PID" 2>/dev/null || true
        wait "$SANDBOX_PID" 2>/dev/null || true
        SANDBOX_PID=
    fi
}
trap 'stop_sandbox; [ -n "${BENCH_DIR:-}" ] || rm -rf "$WORK"' EXIT

# start_sandbox [SANDBOX FLAGS...]: a fresh sandbox process; sets ORGIMPORT_BASE_URL.
start_sandbox() {
    stop_sandbox
    "$BIN" sandbox --port 0 --client-id bench "$@" >"$WORK/sandbox.out" 2>"$WORK/sandbox.err" &
    SANDBOX_PID=$!
    local url=
    for _ in $(seq 100); do
        url=$(sed -n 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' "$WORK/sandbox.out")
        [ -n "$url" ] && break
        sleep 0.1
    done
    [ -n "$url" ] || { cat "$WORK/sandbox.err" >&2; echo "the sandbox did not start" >&2; exit 1; }
    export ORGIMPORT_BASE_URL=$url
    # The inspection endpoints want a token of the sandbox's: one, fetched before anything is
    # measured (its own token request counts in token_requests before every "before").
    INSPECT_TOKEN=$(sandbox_token)
}

# sandbox_token: a fresh access token of the running sandbox's client.
sandbox_token() {
    printf 'grant_type=client_credentials&client_id=bench&client_secret=%s' \
        "$ORGIMPORT_CLIENT_SECRET" | curl -sf --data-binary @- \
        -H 'content-type: application/x-www-form-urlencoded' \
        "$ORGIMPORT_BASE_URL/demo/system/oauth2/token" |
        python3 -c "import json, sys; print(json.load(sys.stdin)['access_token'])"
}

# stat FIELD: one counter of the running sandbox.
stat() {
    curl -sf -H "authorization: Bearer $INSPECT_TOKEN" "$ORGIMPORT_BASE_URL/_sandbox/stats" |
        python3 -c "import json, sys; print(json.load(sys.stdin)['$1'])"
}

# customers N: the path of a generated N-row customer CSV (made once per run).
customers() {
    local file="$WORK/customers-$1.csv"
    [ -f "$file" ] || bench/customers.sh "$1" >"$file"
    echo "$file"
}

# import FILE OUT [FLAGS...]: runs an import under /usr/bin/time; sets SECS (wall), RSS_MB
# (peak), SEND_RATE (the summary's rows per second while sending) and SUMMARY. It starts
# afresh (earlier results at OUT removed) unless RESUME=1; QUIET= drops --quiet; IMPORTER=path
# runs another build.
import() {
    local file=$1 out=$2
    shift 2
    [ "${RESUME:-0}" = 1 ] || rm -f "$out" "$out.journal"
    /usr/bin/time -v -o "$WORK/time.txt" "${IMPORTER:-$BIN}" ${QUIET---quiet} import "$file" -o "$out" "$@" \
        2>"$WORK/import.err" || {
        cat "$WORK/import.err" >&2
        echo "the import failed" >&2
        exit 1
    }
    SUMMARY=$(grep ' rows: ' "$WORK/import.err" | tail -1)
    SEND_RATE=$(sed -n 's/.*(\([0-9.]*\) rows\/s.*/\1/p' <<<"$SUMMARY")
    timed "$WORK/time.txt"
}

# sandbox_cpu: the sandbox process's CPU seconds so far (user + system).
sandbox_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$SANDBOX_PID/stat"
}

# timed FILE: SECS, RSS_MB and CPU (user + system seconds) from a /usr/bin/time -v report.
timed() {
    CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1")
    RSS_MB=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$1")
    SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {
        n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$1")
}

# ratio A B: A / B to three places ("n/a" when B is 0, as for a file too small to time).
ratio() { python3 -c "print(f'{$1 / $2:.3f}' if $2 else 'n/a')"; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(free -g | awk '/^Mem:/ {print $2}') GiB; load now: $(cut -d' ' -f1-3 /proc/loadavg)"

# rate_run LIMIT ROWS [IMPORT FLAGS...]: imports ROWS rows against the running sandbox, limited
# to LIMIT/s, and prints achieved/limit and refused/total from the sandbox's counters and the
# number of "slowing down" lines the import printed.
rate_run() {
    local limit=$1 rows=$2
    shift 2
    QUIET= import "$(customers "$rows")" "$WORK/rate.results.csv" --concurrency 16 "$@"
    local refused total
    refused=$(stat rate_limited) total=$(stat api_requests)
    echo "  achieved $SEND_RATE/s of $limit/s: ratio $(ratio "$SEND_RATE" "$limit");" \
        "refused $refused of $total requests: $(ratio "$refused" "$total");" \
        "created $(stat creates_committed); slow-down lines on stderr:" \
        "$(grep -c 'slowing down' "$WORK/import.err" || true)"
    grep -o 'rate: .*' "$WORK/import.err" | sed 's/^/  /' || true
}

if wants fidelity; then
    echo "== 1. rate fidelity: --rate 100 against a sandbox limited to 100/s"
    echo "governor limiter, its default burst (100):"
    start_sandbox --rate-limit 100
    rate_run 100 2000 --rate 100
    echo "strict token bucket of 10:"
    start_sandbox --rate-limit 100 --rate-limit-burst 10 --rate-limit-mode bucket
    rate_run 100 2000 --rate 100
fi

if wants auto; then
    echo "== 1b. --rate auto against an unpublished limit (strict bucket of 10), then published"
    for limit in 10 60 500; do
        rows=$((limit * 25))
        for headers in "" --rate-limit-headers; do
            echo "limit $limit/s, $rows rows, ${headers:-no headers}:"
            start_sandbox --rate-limit "$limit" --rate-limit-burst 10 --rate-limit-mode bucket $headers
            rate_run "$limit" "$rows" --rate auto
        done
    done
fi

if wants overshoot; then
    echo "== 1c. overshoot: --rate 400 against a strict bucket of 10 at 100/s"
    start_sandbox --rate-limit 100 --rate-limit-burst 10 --rate-limit-mode bucket
    rate_run 100 2000 --rate 400
fi

# limiter_run NAME BEST ROWS [SANDBOX FLAGS...] -- [IMPORT FLAGS...]: `--rate auto`,
# concurrency 32, against a fresh sandbox with SANDBOX FLAGS, stopped by Ctrl-C after
# LIMITER_SECONDS (killed 15 s later if it has not stopped); prints one table row: rows created per second of the run's wall time over
# BEST (what the limiter allows per second over that time), refused/total requests, and the
# blocks of a blocking window.
limiter_run() {
    local name=$1 best=$2 rows=$3
    shift 3
    local flags=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do flags+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    start_sandbox "${flags[@]}"
    local out=$WORK/limiter.results.csv
    rm -f "$out" "$out.journal"
    /usr/bin/time -v -o "$WORK/time.txt" timeout -s INT -k 15 "$LIMITER_SECONDS" "$BIN" import \
        "$(customers "$rows")" -o "$out" --rate "${LIMITER_RATE:-auto}" --concurrency 32 "$@" \
        2>"$WORK/import.err" || true
    timed "$WORK/time.txt"
    local created refused total blocks per
    created=$(stat creates_committed) refused=$(stat rate_limited) total=$(stat api_requests)
    blocks=$(stat windows_blocked)
    per=$(python3 -c "print(round($created / $SECS, 2))")
    echo "| $name | $per rows/s of $best: $(ratio "$per" "$best") | $(ratio "$refused" "$total")" \
        "($refused of $total) | $blocks | $created rows in ${SECS}s |"
    grep -o 'rate: .*' "$WORK/import.err" | sed 's/^/    /' || true
}

if wants limiters; then
    echo "== 1d. --rate auto against the limiters tenants use, concurrency 32," \
        "each run at most ${LIMITER_SECONDS}s"
    echo "| limiter | rows/s of the best possible | refused | blocks | run |"
    echo "|---|---|---|---|---|"
    # The sandbox's rate is whole requests a second: 150/m (2.5/s) is counted as 3/s.
    limiter_run "bucket burst 5 at 3/s" 3 200 \
        --rate-limit 3 --rate-limit-burst 5 --rate-limit-mode bucket
    limiter_run "fixed 5 s windows of 50, block on exceed" 10 1000 \
        --rate-limit 10 --rate-limit-mode blocking-window --rate-limit-window 5s
    limiter_run "10 s windows of 300, Okta headers" 30 2000 \
        --rate-limit 30 --rate-limit-mode window --rate-limit-window 10s --rate-limit-headers okta
    limiter_run "concurrency limit 8, replies take 100 ms" 80 4000 \
        --concurrency-limit 8 --latency 100ms
    # Best possible over the run: 60/s for 15 s, then 30/s.
    best=$(python3 -c "print(round((60 * 15 + 30 * ($LIMITER_SECONDS - 15)) / $LIMITER_SECONDS, 2))")
    limiter_run "60/s, then 30/s from 15 s in" "$best" 3000 \
        --rate-limit 60 --rate-limit-mode bucket --rate-limit-schedule 15s=30
    limiter_run "100/s on every endpoint, 5 % 5xx, 2 % commit-then-fail" 100 5000 \
        --rate-limit 100 --rate-limit-mode bucket --fail-rate 0.05 --commit-then-fail-rate 0.02
    echo "== 1e. --rate N at 0.8 of each limit (best possible: N), concurrency 32," \
        "each run at most ${LIMITER_SECONDS}s"
    echo "| limiter | rows/s of N | refused | blocks | run |"
    echo "|---|---|---|---|---|"
    LIMITER_RATE=144/m limiter_run "bucket burst 5 at 3/s, --rate 144/m (2.4/s)" 2.4 200 \
        --rate-limit 3 --rate-limit-burst 5 --rate-limit-mode bucket
    LIMITER_RATE=8 limiter_run "fixed 5 s windows of 50, block on exceed, --rate 8" 8 1000 \
        --rate-limit 10 --rate-limit-mode blocking-window --rate-limit-window 5s
    LIMITER_RATE=24 limiter_run "10 s windows of 300, Okta headers, --rate 24" 24 2000 \
        --rate-limit 30 --rate-limit-mode window --rate-limit-window 10s --rate-limit-headers okta
    LIMITER_RATE=64 limiter_run "concurrency limit 8, replies take 100 ms, --rate 64" 64 4000 \
        --concurrency-limit 8 --latency 100ms
    LIMITER_RATE=24 limiter_run "60/s, then 30/s from 15 s in, --rate 24" 24 3000 \
        --rate-limit 60 --rate-limit-mode bucket --rate-limit-schedule 15s=30
    LIMITER_RATE=80 limiter_run "100/s on every endpoint, 5 % 5xx, 2 % commit-then-fail, --rate 80" \
        80 5000 --rate-limit 100 --rate-limit-mode bucket --fail-rate 0.05 --commit-then-fail-rate 0.02
fi

if wants throughput; then
    echo "== 2. raw throughput: $THROUGHPUT_ROWS creates, concurrency $CONCURRENCY, no rate limit," \
        "$PAIRS pairs taken in turn"
    body='{"name":"customer-0000001","displayName":"Kunde 1, GmbH","description":"Regional distributor number 1.","email":"admin@customer1.example.com","domains":["customer1.example.com","c1.example.org"],"template_id":"b2b-customer-template","metadata":{"payload":{"orgEntitlements":["api-access","scim"],"region":"NA","salesforceId":"001XX0000000000001"}}}'
    per() { python3 -c "print(round($1 / $THROUGHPUT_ROWS * 1e6, 1))"; }
    ratios=()
    for pair in $(seq "$PAIRS"); do
        start_sandbox
        import "$(customers "$THROUGHPUT_ROWS")" "$WORK/throughput.results.csv" \
            --rate "$UNLIMITED" --concurrency "$CONCURRENCY"
        ours=$SEND_RATE ours_cpu=$CPU sandbox_ours=$(sandbox_cpu)
        overall=$(python3 -c "print(round($THROUGHPUT_ROWS / $SECS, 1))")
        echo "[$pair] orgimport: $ours creates/s while sending, $overall rows/s from start to" \
            "exit (sandbox created $(stat creates_committed))"
        start_sandbox
        # oha posts one row's body (the same JSON orgimport sends) with a token of the same
        # client, to the same endpoint of a fresh sandbox.
        token=$(sandbox_token)
        /usr/bin/time -v -o "$WORK/time.txt" \
            "$OHA" --no-tui --output-format json -n "$THROUGHPUT_ROWS" -c "$CONCURRENCY" -m POST \
            -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body" \
            "$ORGIMPORT_BASE_URL/api/system/demo/organizations" >"$WORK/oha.json"
        peer=$(python3 -c "import json; print(round(json.load(open('$WORK/oha.json'))['summary']['requestsPerSec'], 1))")
        timed "$WORK/time.txt"
        ratios+=("$(ratio "$ours" "$peer")")
        echo "[$pair] oha: $peer creates/s (sandbox created $(stat creates_committed));" \
            "ratio ${ratios[-1]}"
        # Where the gap goes: both share the cores, so CPU per create is what counts.
        echo "[$pair] CPU per create (us): orgimport $(per "$ours_cpu") (whole run, planning" \
            "and results included), oha $(per "$CPU"); sandbox serving orgimport" \
            "$(per "$sandbox_ours"), serving oha $(per "$(sandbox_cpu)")"
    done
    echo "throughput ratio orgimport/oha: median $(printf '%s\n' "${ratios[@]}" | sort -n |
        awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') of ${ratios[*]}"
fi

if wants latency; then
    echo "== 3. latency-bound: sandbox latency 50ms, --concurrency 64, no rate limit"
    # With BENCH_BASE, $PAIRS pairs (this build, then the base build), each on a fresh sandbox.
    mine=() theirs=()
    for pair in $(seq "$([ -n "$BASE" ] && echo "$PAIRS" || echo 1)"); do
        for importer in "$BIN" ${BASE:+"$BASE"}; do
            start_sandbox --latency 50ms
            IMPORTER=$importer import "$(customers 6400)" "$WORK/latency.results.csv" \
                --rate "$UNLIMITED" --concurrency 64
            r=$(ratio "$SEND_RATE" 1280)
            [ "$importer" = "$BIN" ] && mine+=("$r") || theirs+=("$r")
            echo "${BASE:+[$pair] $([ "$importer" = "$BIN" ] && echo this || echo base) build: }achieved" \
                "$SEND_RATE/s of 64/0.05 = 1280/s: ratio $r (load $(cut -d' ' -f1 /proc/loadavg))"
        done
    done
    [ -z "$BASE" ] || echo "latency-bound ratio: this build ${mine[*]}, base build ${theirs[*]}"
fi

if wants validate; then
    echo "== 4. validate $BIG_ROWS rows vs a plain csv-crate read (the floor)"
    file=$(customers "$BIG_ROWS")
    /usr/bin/time -v -o "$WORK/time.txt" "$FLOOR" "$file" >/dev/null
    timed "$WORK/time.txt"
    floor_secs=$SECS floor_rss=$RSS_MB
    /usr/bin/time -v -o "$WORK/time.txt" "$BIN" validate "$file" >/dev/null 2>"$WORK/validate.err" ||
        { cat "$WORK/validate.err" >&2; exit 1; }
    timed "$WORK/time.txt"
    echo "floor: ${floor_secs}s, ${floor_rss} MB; validate: ${SECS}s, CPU ${CPU}s" \
        "($(python3 -c "print(round($BIG_ROWS / $SECS))") rows/s), ${RSS_MB} MB;" \
        "time ratio validate/floor: $(ratio "$SECS" "$floor_secs") (load $(cut -d' ' -f1 /proc/loadavg))"
    if [ -n "$BASE" ]; then
        # The other build, then this one again: the two ratios show how much the load moved.
        ours=$SECS
        /usr/bin/time -v -o "$WORK/time.txt" "$BASE" validate "$file" >/dev/null 2>&1 || true
        timed "$WORK/time.txt"
        base_secs=$SECS base_rss=$RSS_MB base_cpu=$CPU
        /usr/bin/time -v -o "$WORK/time.txt" "$BIN" validate "$file" >/dev/null 2>&1 || true
        timed "$WORK/time.txt"
        echo "base build: validate ${base_secs}s, CPU ${base_cpu}s, ${base_rss} MB; this build" \
            "again: ${SECS}s, CPU ${CPU}s;" \
            "time ratio this/base: $(ratio "$ours" "$base_secs") and $(ratio "$SECS" "$base_secs")"
    fi
fi

if wants memory || wants resume; then
    echo "== 5. import memory: 100000 vs $BIG_ROWS rows, no rate limit"
    if wants memory; then
        start_sandbox
        import "$(customers 100000)" "$WORK/mem-100k.results.csv" --rate "$UNLIMITED" \
            --concurrency "$CONCURRENCY"
        echo "100000 rows: peak RSS ${RSS_MB} MB, ${SECS}s, CPU ${CPU}s ($SEND_RATE rows/s" \
            "sending; load $(cut -d' ' -f1 /proc/loadavg))"
        if [ -n "$BASE" ]; then
            for rows in 100000 "$BIG_ROWS"; do
                start_sandbox
                IMPORTER=$BASE import "$(customers "$rows")" "$WORK/mem-base.results.csv" \
                    --rate "$UNLIMITED" --concurrency "$CONCURRENCY"
                echo "$rows rows, base build: peak RSS ${RSS_MB} MB, ${SECS}s, CPU ${CPU}s" \
                    "(load $(cut -d' ' -f1 /proc/loadavg))"
            done
        fi
    fi
    start_sandbox
    big="$WORK/mem-big.results.csv"
    import "$(customers "$BIG_ROWS")" "$big" --rate "$UNLIMITED" --concurrency "$CONCURRENCY"
    echo "$BIG_ROWS rows: peak RSS ${RSS_MB} MB, ${SECS}s, CPU ${CPU}s ($SEND_RATE rows/s" \
        "sending; load $(cut -d' ' -f1 /proc/loadavg)); sandbox created $(stat creates_committed)"
    if wants resume; then
        echo "== 6. resume: rerun the finished $BIG_ROWS-row import"
        cp "$big" "$WORK/finished.results.csv"
        for importer in "$BIN" ${BASE:+"$BASE"} ${BASE:+"$BIN"}; do
            cp "$WORK/finished.results.csv" "$big"
            requests=$(stat api_requests) tokens=$(stat token_requests)
            IMPORTER=$importer RESUME=1 import "$(customers "$BIG_ROWS")" "$big" \
                --rate "$UNLIMITED" --concurrency "$CONCURRENCY"
            cmp -s "$big" "$WORK/finished.results.csv" && same="the same" || same="NOT the same"
            echo "rerun ($([ "$importer" = "$BIN" ] && echo this || echo base) build):" \
                "${SECS}s, peak RSS ${RSS_MB} MB, CPU ${CPU}s; requests sent:" \
                "$(($(stat api_requests) - requests)) API, $(($(stat token_requests) - tokens))" \
                "token; results file $same as before; $SUMMARY"
        done
    fi
fi

if wants workbook; then
    echo "== 7. a workbook: $BIG_ROWS rows as xlsx against the same rows as CSV"
    csv=$(customers "$BIG_ROWS")
    xlsx="$WORK/customers-$BIG_ROWS.xlsx"
    # Written once per run, by xlsxwriter (a few minutes for a million rows).
    if [ -f "$xlsx" ] || python3 bench/xlsx.py "$csv" "$xlsx"; then
        echo "files: CSV $(($(wc -c <"$csv") / 1000000)) MB, xlsx $(($(wc -c <"$xlsx") / 1000000)) MB"
        # calamine alone, for comparison: the sheet's formulas, then its values (orgimport
        # reads a sheet's XML by hand, and through calamine only a sheet with a formula).
        /usr/bin/time -v -o "$WORK/time.txt" "$XLSX_FLOOR" "$xlsx" --formulas >"$WORK/floor.out"
        timed "$WORK/time.txt"
        echo "calamine alone: ${SECS}s, CPU ${CPU}s, peak RSS ${RSS_MB} MB: $(cat "$WORK/floor.out")"
        for importer in "$BIN" ${BASE:+"$BASE"}; do
            build=$([ "$importer" = "$BIN" ] && echo this || echo base)
            for file in "$csv" "$xlsx"; do
                /usr/bin/time -v -o "$WORK/time.txt" "$importer" validate "$file" >/dev/null \
                    2>"$WORK/validate.err" || { cat "$WORK/validate.err" >&2; exit 1; }
                timed "$WORK/time.txt"
                echo "validate ${file##*.} ($build build): ${SECS}s, CPU ${CPU}s, peak RSS" \
                    "${RSS_MB} MB (load $(cut -d' ' -f1 /proc/loadavg))"
            done
            for file in "$csv" "$xlsx"; do
                start_sandbox
                IMPORTER=$importer import "$file" "$WORK/workbook.results.csv" \
                    --rate "$UNLIMITED" --concurrency "$CONCURRENCY"
                echo "import ${file##*.} ($build build): peak RSS ${RSS_MB} MB, ${SECS}s, CPU" \
                    "${CPU}s ($SEND_RATE rows/s sending; load $(cut -d' ' -f1 /proc/loadavg))"
            done
        done
    else
        echo "skipped: writing the xlsx file needs python3 with xlsxwriter (pip install xlsxwriter)"
    fi
fi
