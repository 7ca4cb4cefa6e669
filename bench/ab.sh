#!/bin/bash
# ab.sh - A/B comparison of two amaters-server binaries on this machine.
#
#   bash bench/ab.sh OLD_SERVER NEW_SERVER [BENCH_BIN]
#
# Starts each server in turn on free loopback ports with a fresh temporary
# data directory, waits for /readyz, and runs amaters-bench get (preloaded),
# set and mix (90/10) against it; old and new alternate AB_ROUNDS times so
# that the machine's drift hits both alike. Prints one line per run and, at
# the end, the median ops/s per workload and binary and the ratio new/old.
#
# Knobs (environment): AB_ROUNDS (3), AB_DURATION (4 s), AB_WARMUP (1 s),
# AB_ENGINE (lsm), AB_SYNC (always), AB_CONCURRENCY (64), AB_THREADS
# (client threads, number of CPUs), AB_WORKLOADS ("get set mix").
# BENCH_BIN defaults to build/bench/amaters-bench.
set -euo pipefail

if [ $# -lt 2 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
OLD=$1
NEW=$2
BENCH=${3:-build/bench/amaters-bench}
ROUNDS=${AB_ROUNDS:-3}
DURATION=${AB_DURATION:-4}
WARMUP=${AB_WARMUP:-1}
ENGINE=${AB_ENGINE:-lsm}
SYNC=${AB_SYNC:-always}
CONC=${AB_CONCURRENCY:-64}
THREADS=${AB_THREADS:-$(nproc)}
WORKLOADS=${AB_WORKLOADS:-get set mix}

for f in "$OLD" "$NEW" "$BENCH"; do
    [ -x "$f" ] || { echo "ab.sh: $f: not an executable file" >&2; exit 2; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/amaters-ab.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run_one BIN TAG: one server, every workload; appends "TAG W OPS" lines.
run_one() {
    local bin=$1 tag=$2 gp hp ok=0
    gp=$(free_port)
    hp=$(free_port)
    rm -rf "$TMP/data"
    AMATERS_STORAGE__ENGINE=$ENGINE AMATERS_STORAGE__WAL__SYNC_MODE=$SYNC \
        AMATERS_METRICS__BIND_ADDRESS=127.0.0.1:$hp \
        "$bin" --bind "127.0.0.1:$gp" --data-dir "$TMP/data" start \
        > "$TMP/$tag.log" 2>&1 &
    PID=$!
    for _ in $(seq 400); do
        if curl -sf "http://127.0.0.1:$hp/readyz" > /dev/null; then
            ok=1
            break
        fi
        sleep 0.05 # readiness poll interval
    done
    if [ $ok = 0 ]; then
        echo "ab.sh: $bin did not become ready; its log:" >&2
        cat "$TMP/$tag.log" >&2
        exit 1
    fi
    for w in $WORKLOADS; do
        local extra=() line ops
        [ "$w" != set ] && extra=(--preload)
        line=$("$BENCH" --target "127.0.0.1:$gp" --workload "$w" \
            --concurrency "$CONC" --threads "$THREADS" \
            --duration "$DURATION" --warmup "$WARMUP" "${extra[@]}" \
            | grep '^throughput:')
        ops=$(echo "$line" | awk '{print $2}')
        echo "$tag $w $ops" >> "$TMP/results"
        printf '%-4s %-4s %10s ops/s\n' "$tag" "$w" "$ops"
    done
    kill "$PID"
    wait "$PID" || true
    PID=
}

: > "$TMP/results"
for _ in $(seq "$ROUNDS"); do
    run_one "$OLD" old
    run_one "$NEW" new
done

echo
echo "medians of $ROUNDS runs (engine $ENGINE, sync $SYNC, $CONC in flight):"
python3 - "$TMP/results" <<'EOF'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    tag, w, ops = line.split()
    runs.setdefault(w, {}).setdefault(tag, []).append(float(ops))
for w, by in runs.items():
    old, new = statistics.median(by["old"]), statistics.median(by["new"])
    ratio = new / old if old else float("nan")
    print(f"{w:4s} old {old:10.1f}  new {new:10.1f}  new/old {ratio:.2f}")
EOF
