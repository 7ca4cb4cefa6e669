#!/usr/bin/env bash
# Runs every libFuzzer harness built in BUILD_DIR for SECONDS each, seeded
# from tests/fuzz/corpus/<name>/ when present. Exits non-zero on a finding.
# usage: run-fuzzers.sh BUILD_DIR SECONDS
set -euo pipefail
build=$1
secs=$2
src=$(cd "$(dirname "$0")/.." && pwd)
status=0
found=0
while IFS= read -r f; do
    name=$(basename "$f")
    found=1
    work="$build/fuzz-corpus/$name"
    mkdir -p "$work"
    seeds=()
    if [ -d "$src/tests/fuzz/corpus/$name" ]; then
        seeds=("$src/tests/fuzz/corpus/$name")
    fi
    echo "== $name (${secs}s)"
    if ! "$f" -max_total_time="$secs" -rss_limit_mb=2048 \
            -artifact_prefix="$build/$name-" "$work" "${seeds[@]}" \
            > "$build/$name.log" 2>&1; then
        echo "FAIL $name: see $build/$name.log"
        tail -n 30 "$build/$name.log"
        status=1
    else
        grep -E "^(Done|#[0-9]+.*DONE)" "$build/$name.log" | tail -n 1 || true
    fi
done < <(find "$build" -maxdepth 4 -type f -name 'fuzz_*' -perm -u+x | sort)
if [ "$found" = 0 ]; then
    echo "no fuzzers found in $build" >&2
    exit 1
fi
exit $status
