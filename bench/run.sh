#!/usr/bin/env bash
# bench/run.sh - the standard benchmark set (`make bench`).
#
# Usage: bench/run.sh [BUILD_DIR]   (default: build)
#
# Starts amaters-server from BUILD_DIR on free loopback ports with a
# temporary data directory (storage.engine = lsm, WAL sync_mode = always
# unless BENCH_ENGINE / BENCH_SYNC say otherwise), waits for /readyz, runs
# amaters-bench over the standard workloads and engine-bench for the
# engine's own ceiling, and, when etcd is installed (Debian etcd-server),
# the CEO's loadgen against a local etcd for comparison. The shared loadgen
# sends SET without CipherBlob.metadata (which the protocol refuses), so a
# copy built in the temporary directory adds valid metadata (size, CRC-32,
# created_at) for the amaters set run ("loadgen-md"); etcd and amaters are
# otherwise driven by the same client. A memory-engine server answering
# GETs of missing keys gives the transport ceiling: the most any call can
# reach on this machine with the client on it. Writes a Markdown
# table to bench/results/<UTC date>.md (BENCH_OUT overrides the path) and
# prints it. Everything it starts is stopped and its temporary files
# removed on exit.
#
# Environment: BENCH_DURATION (measured seconds per run, default 5),
# BENCH_WARMUP (default 1), BENCH_ENGINE (lsm|memory, default lsm),
# BENCH_SYNC (always|interval|none, default always), BENCH_THREADS (client
# threads and engine-bench threads, default: number of CPUs),
# LOADGEN_SRC (default: ../shared/tools/loadgen/loadgen.c beside the repo).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
SERVER=$BUILD/src/server/amaters-server
BENCH=$BUILD/bench/amaters-bench
ENGINE=$BUILD/bench/engine-bench
DUR=${BENCH_DURATION:-5}
WARM=${BENCH_WARMUP:-1}
KIND=${BENCH_ENGINE:-lsm}
SYNC=${BENCH_SYNC:-always}
THREADS=${BENCH_THREADS:-$(nproc)}
LOADGEN_SRC=${LOADGEN_SRC:-$ROOT/../shared/tools/loadgen/loadgen.c}
OUT=${BENCH_OUT:-$ROOT/bench/results/$(date -u +%Y-%m-%d).md}

for b in "$SERVER" "$BENCH" "$ENGINE"; do
    [ -x "$b" ] || { echo "run.sh: $b not built" >&2; exit 1; }
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/amaters-bench.XXXXXX")
SERVER_PID=
ETCD_PID=
cleanup() {
    for pid in $SERVER_PID $ETCD_PID; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $SERVER_PID $ETCD_PID; do
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID NAME: polls URL until it answers 200 (30 s at most).
wait_http() {
    for _ in $(seq 1 300); do
        if curl -sf -o /dev/null "$1"; then
            return 0
        fi
        if ! kill -0 "$2" 2>/dev/null; then
            echo "run.sh: $3 exited during start-up" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "run.sh: $3 not ready after 30 s" >&2
    return 1
}

RESULTS=$TMP/results.jsonl
: > "$RESULTS"

# record LABEL COMMAND...: runs a JSON-printing bench and keeps its line.
record() {
    local label=$1 line
    shift
    echo "run.sh: $label" >&2
    line=$("$@" --format json 2>>"$TMP/bench.err" | tail -n 1) || true
    if [ -z "$line" ]; then
        line='{"failed": true}'
        tail -n 5 "$TMP/bench.err" >&2
    fi
    printf '%s\t%s\n' "$label" "$line" >> "$RESULTS"
}

# record_loadgen LABEL ARGS...: the same for the CEO's loadgen.
record_loadgen() {
    local label=$1 line
    shift
    echo "run.sh: $label" >&2
    line=$("${LG:-$TMP/loadgen}" "$@" 2>>"$TMP/bench.err" | tail -n 1) \
        || true
    printf '%s\tloadgen %s %s %s\n' "$label" "$4" "$6" "$line" \
        >> "$RESULTS"
}

GPORT=$(free_port)
MPORT=$(free_port)
mkdir -p "$TMP/data"
AMATERS_STORAGE__ENGINE=$KIND AMATERS_STORAGE__WAL__SYNC_MODE=$SYNC \
AMATERS_METRICS__BIND_ADDRESS=127.0.0.1:$MPORT \
    "$SERVER" -b "127.0.0.1:$GPORT" -d "$TMP/data" --log-level warn start \
    > "$TMP/server.log" 2>&1 &
SERVER_PID=$!
if ! wait_http "http://127.0.0.1:$MPORT/readyz" "$SERVER_PID" \
    amaters-server; then
    tail -n 20 "$TMP/server.log" >&2
    exit 1
fi

T=127.0.0.1:$GPORT
COMMON=(--target "$T" --duration "$DUR" --warmup "$WARM" --threads 1)
record "set" "$BENCH" "${COMMON[@]}" --workload set --concurrency 64 \
    --value-size 256 --keyspace 10000
record "get (10k keys preloaded)" "$BENCH" "${COMMON[@]}" --workload get \
    --concurrency 64 --value-size 256 --keyspace 10000 --preload
record "mix 90% get / 10% set" "$BENCH" "${COMMON[@]}" --workload mix \
    --concurrency 64 --value-size 256 --keyspace 10000
record "set, single client" "$BENCH" "${COMMON[@]}" --workload set \
    --concurrency 1 --value-size 256 --keyspace 10000
record "set 1 MiB" "$BENCH" "${COMMON[@]}" --workload set --concurrency 4 \
    --value-size 1048576 --keyspace 100 --collection big
record "get 1 MiB (preloaded)" "$BENCH" "${COMMON[@]}" --workload get \
    --concurrency 4 --value-size 1048576 --keyspace 100 --collection big \
    --preload
record "range 100 (rows/op=100)" "$BENCH" "${COMMON[@]}" --workload range \
    --concurrency 16 --value-size 256 --keyspace 10000 --range-size 100
record "stream range 100" "$BENCH" "${COMMON[@]}" --workload stream \
    --concurrency 16 --value-size 256 --keyspace 10000 --range-size 100

LOADGEN_OK=
if [ -f "$LOADGEN_SRC" ] && command -v gcc >/dev/null; then
    # Built into the temporary directory, never beside its source.
    if gcc -O2 -o "$TMP/loadgen" "$LOADGEN_SRC" \
        $(pkg-config --cflags --libs grpc) 2>>"$TMP/bench.err"; then
        LOADGEN_OK=1
        record_loadgen "loadgen: amaters get" "$T" amaters get 64 "$DUR" \
            256 10000
    fi
    # the same client with metadata on SET (see the header comment)
    SETLINE='if (is_set) { field_bytes(&t, 1, val, valsize); field_msg(&inner, 3, &t); }'
    MDLINE='if (is_set) { Buf md = {0}; field_bytes(\&t, 1, val, valsize); varint(\&md, 1<<3); varint(\&md, valsize); varint(\&md, 3<<3); varint(\&md, crc32(0, (const unsigned char *)val, valsize)); varint(\&md, 4<<3); varint(\&md, 1700000000); field_msg(\&t, 2, \&md); free(md.p); field_msg(\&inner, 3, \&t); }'
    if [ -n "$LOADGEN_OK" ] && grep -qF "$SETLINE" "$LOADGEN_SRC"; then
        { echo '#include <zlib.h>'
          sed "s|$(printf '%s' "$SETLINE" | sed 's/[][\\.*^$|&]/\\&/g')|$MDLINE|" \
              "$LOADGEN_SRC"; } > "$TMP/loadgen-md.c"
        if gcc -O2 -o "$TMP/loadgen-md" "$TMP/loadgen-md.c" \
            $(pkg-config --cflags --libs grpc) -lz 2>>"$TMP/bench.err"; then
            LG="$TMP/loadgen-md" record_loadgen "loadgen-md: amaters set" \
                "$T" amaters set 64 "$DUR" 256 10000
            LG="$TMP/loadgen-md" record_loadgen \
                "loadgen-md: amaters set, single client" "$T" amaters set \
                1 "$DUR" 256 10000
        fi
    else
        echo "run.sh: loadgen's SET line changed; no loadgen-md run" >&2
    fi
fi

kill -TERM "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=

# The transport ceiling: GETs of missing keys on a memory-engine server.
if [ -n "$LOADGEN_OK" ]; then
    GPORT=$(free_port)
    MPORT=$(free_port)
    AMATERS_STORAGE__ENGINE=memory \
    AMATERS_METRICS__BIND_ADDRESS=127.0.0.1:$MPORT \
        "$SERVER" -b "127.0.0.1:$GPORT" -d "$TMP/ceiling" --log-level warn \
        start > "$TMP/ceiling.log" 2>&1 &
    SERVER_PID=$!
    if wait_http "http://127.0.0.1:$MPORT/readyz" "$SERVER_PID" \
        amaters-server; then
        record_loadgen "ceiling: get of missing keys, memory engine" \
            "127.0.0.1:$GPORT" amaters get 64 "$DUR" 256 10000
    fi
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
fi

EB=(--dir "$TMP" --engine "$KIND" --sync "$SYNC" --threads "$THREADS"
    --duration "$DUR" --warmup "$WARM")
record "engine-bench set" "$ENGINE" "${EB[@]}" --workload set \
    --concurrency 64 --value-size 256 --keyspace 10000
record "engine-bench get" "$ENGINE" "${EB[@]}" --workload get \
    --value-size 256 --keyspace 10000
record "engine-bench set 1 MiB" "$ENGINE" "${EB[@]}" --workload set \
    --concurrency 4 --value-size 1048576 --keyspace 100

if command -v etcd >/dev/null && [ -n "$LOADGEN_OK" ]; then
    EC=$(free_port)
    EP=$(free_port)
    etcd --name bench --data-dir "$TMP/etcd" \
        --listen-client-urls "http://127.0.0.1:$EC" \
        --advertise-client-urls "http://127.0.0.1:$EC" \
        --listen-peer-urls "http://127.0.0.1:$EP" \
        --initial-advertise-peer-urls "http://127.0.0.1:$EP" \
        --initial-cluster "bench=http://127.0.0.1:$EP" \
        --log-level error > "$TMP/etcd.log" 2>&1 &
    ETCD_PID=$!
    if wait_http "http://127.0.0.1:$EC/health" "$ETCD_PID" etcd; then
        record_loadgen "etcd put (loadgen)" "127.0.0.1:$EC" etcd set 64 \
            "$DUR" 256 10000
        record_loadgen "etcd put, single client (loadgen)" "127.0.0.1:$EC" \
            etcd set 1 "$DUR" 256 10000
        record_loadgen "etcd get (loadgen)" "127.0.0.1:$EC" etcd get 64 \
            "$DUR" 256 10000
    fi
    kill -TERM "$ETCD_PID" 2>/dev/null || true
    wait "$ETCD_PID" 2>/dev/null || true
    ETCD_PID=
fi

mkdir -p "$(dirname "$OUT")"
python3 - "$RESULTS" "$KIND" "$SYNC" "$THREADS" "$DUR" > "$OUT" <<'PY'
import json, sys, platform, os, datetime
path, kind, sync, threads, dur = sys.argv[1:6]
rows = []
for line in open(path):
    label, _, data = line.rstrip("\n").partition("\t")
    if data.startswith("loadgen "):
        _, conc, vs, rest = data.split(" ", 3)
        kv = dict(p.split("=", 1) for p in rest.split() if "=" in p)
        if not kv:
            rows.append((label, {"failed": True}))
            continue
        ops = float(kv.get("ops_per_s", 0))
        rows.append((label, {"concurrency": int(conc),
                             "value_size": int(vs),
                             "ops_per_s": ops,
                             "mb_per_s": ops * int(vs) / 1e6,
                             "p50_us": float(kv.get("p50_us", 0)),
                             "p99_us": float(kv.get("p99_us", 0)),
                             "p999_us": None,
                             "errors": int(kv.get("errors", 0))}))
    else:
        rows.append((label, json.loads(data)))

def size(n):
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return "%d MiB" % (n >> 20)
    return "%d B" % n

def num(v, fmt="%.0f"):
    return "-" if v is None else fmt % v

def lat(v):
    """Latency in µs: one decimal below 10 µs (engine-bench reads)."""
    return num(v, "%.1f" if v is not None and v < 10 else "%.0f")

now = datetime.datetime.now(datetime.timezone.utc)
print("# amaters benchmark, %s\n" % now.strftime("%Y-%m-%d %H:%M UTC"))
sync_text = sync
if kind == "memory":
    sync_text += " (the memory engine does not sync)"
print("Server: storage.engine = %s, storage.wal.sync_mode = %s; %s s "
      "measured per run after a warm-up; %d CPUs (%s), client and server "
      "on the same machine.\n" % (kind, sync_text, dur, os.cpu_count(),
                                  platform.machine()))
print("| workload | concurrency | value size | ops/s | MB/s | p50 µs "
      "| p99 µs | p999 µs | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
by = {}
for label, r in rows:
    by[label] = r
    if r.get("failed"):
        print("| %s | - | - | failed | | | | | |" % label)
        continue
    conc = r.get("concurrency", "-")
    if label.startswith("engine-bench"):
        conc = "%s (%s thr)" % (conc, r.get("threads"))
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, conc, size(r["value_size"]), num(r["ops_per_s"]),
        num(r["mb_per_s"], "%.2f"), lat(r.get("p50_us")),
        lat(r.get("p99_us")), lat(r.get("p999_us")), r.get("errors", 0)))

def ratio(name, a, b, key="ops_per_s"):
    ra, rb = by.get(a), by.get(b)
    if not ra or not rb or ra.get("failed") or rb.get("failed"):
        return
    if not rb.get(key):
        return
    print("- %s: %.2f (%s %.0f / %s %.0f)" % (
        name, ra[key] / rb[key], a, ra[key], b, rb[key]))

print("\nRatios:\n")
ratio("server set / engine set (%s, sync %s)" % (kind, sync),
      "set", "engine-bench set")
ratio("server get / engine get", "get (10k keys preloaded)",
      "engine-bench get")
ratio("server set 1 MiB / engine set 1 MiB (MB/s)", "set 1 MiB",
      "engine-bench set 1 MiB", "mb_per_s")
ratio("amaters-bench get / loadgen get, same server (client cost)",
      "get (10k keys preloaded)", "loadgen: amaters get")
ratio("amaters set (amaters-bench) / etcd put (loadgen)", "set",
      "etcd put (loadgen)")
ratio("amaters set / etcd put, same loadgen client", "loadgen-md: amaters set",
      "etcd put (loadgen)")
ratio("transport ceiling / etcd put (the most any put could reach)",
      "ceiling: get of missing keys, memory engine", "etcd put (loadgen)")
ratio("single-client put p50 latency, amaters / etcd (lower is better)",
      "loadgen-md: amaters set, single client",
      "etcd put, single client (loadgen)", "p50_us")
ratio("amaters get / etcd get (both driven by loadgen)",
      "loadgen: amaters get", "etcd get (loadgen)")
if "etcd put (loadgen)" not in by:
    print("- etcd: not installed (Debian package etcd-server), no "
          "comparison")
PY
cat "$OUT"
echo "run.sh: wrote $OUT" >&2
