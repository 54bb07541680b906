#!/usr/bin/env bash
# Builds the libFuzzer targets in tools/fuzz (sanitized: ASan and libFuzzer's coverage for Swift,
# ASan and UBSan for the C++ phone shim) and runs each of them in turn, SECONDS in all (default 600)
# split evenly, with a memory limit per allocation so that a buffer sized from a length field the
# input does not back is a finding. docs/RELIABILITY.md, "Fuzzing".
#
#   tools/fuzz.sh [SECONDS] [--update-corpus] [--only TARGET]
#
# Each target starts from its committed seeds (tools/fuzz/corpus/<target>) and what earlier runs
# found (tools/fuzz/work/<target>, not committed); --update-corpus merges the result back into the
# committed seeds, keeping only inputs that add coverage. Prints per target the executions, the
# coverage libFuzzer reached (cov: edges, ft: features) and the findings; a finding's input is
# kept in tools/fuzz/findings/<target>/ and the script exits 1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$ROOT/tools/fuzz"
TARGETS=(fuzz-frames fuzz-heads fuzz-proto fuzz-templates fuzz-csv fuzz-phone fuzz-webhooks)

SECONDS_TOTAL=600
UPDATE=0
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --update-corpus) UPDATE=1 ;;
        --only) ONLY="$2"; shift ;;
        -h|--help) sed -n '2,14p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *[!0-9]*|"") echo "usage: tools/fuzz.sh [SECONDS] [--update-corpus] [--only TARGET]" >&2; exit 2 ;;
        *) SECONDS_TOTAL="$1" ;;
    esac
    shift
done
if [ -n "$ONLY" ]; then TARGETS=("$ONLY"); fi

log() { printf '[fuzz] %s\n' "$*"; }

# The sanitized build, in its own scratch folder (a debug build of only what the targets link).
log "building ${#TARGETS[@]} fuzz targets (sanitized, debug) in tools/fuzz/.build"
build_start=$(date +%s)
swift build -c debug --package-path "$FUZZ" --scratch-path "$FUZZ/.build" \
    -Xswiftc -sanitize=fuzzer,address \
    -Xcxx -fsanitize=fuzzer-no-link,address,undefined -Xcxx -fno-sanitize=vptr -Xcxx -fno-sanitize-recover=undefined \
    2>&1 | grep -v -e 'ld.gold: warning: Cannot export local symbol' -e 'prohibited flag(s): -D_FILE_OFFSET_BITS' >&2
log "built in $(( $(date +%s) - build_start )) s"
BIN="$FUZZ/.build/debug"

# Swift's own crash reporter would walk the stack under ASan; libFuzzer prints the report.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

per_target=$(( SECONDS_TOTAL / ${#TARGETS[@]} ))
[ "$per_target" -ge 1 ] || per_target=1
failures=0
summary=()
for target in "${TARGETS[@]}"; do
    name="${target#fuzz-}"
    work="$FUZZ/work/$name"
    findings="$FUZZ/findings/$name"
    mkdir -p "$work" "$findings"
    if [ -d "$FUZZ/corpus/$name" ]; then cp -n "$FUZZ/corpus/$name/"* "$work/" 2>/dev/null || true; fi
    logfile="$FUZZ/work/$name.log"
    log "$target: ${per_target} s"
    set +e
    "$BIN/$target" "$work" \
        -max_total_time="$per_target" -max_len=4096 -timeout=10 \
        -malloc_limit_mb=64 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/" >"$logfile" 2>&1
    status=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logfile" | grep -o '[0-9]*$' | tail -n1)
    last=$(grep -E '^#[0-9]+' "$logfile" | tail -n1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    corp=$(grep -o 'corp: [0-9]*' <<<"$last" | grep -o '[0-9]*' || true)
    if [ "$status" -ne 0 ]; then
        failures=$(( failures + 1 ))
        kept=$(grep -o "Test unit written to .*" "$logfile" | sed 's/Test unit written to //' | tail -n1)
        summary+=("$(printf '%-15s FINDING  execs %-9s cov %-6s ft %-6s input: %s' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${kept:-see $logfile}")")
        grep -E 'ERROR|Precondition failed|Fatal error|SUMMARY|runtime error' "$logfile" | head -n 5 >&2 || true
    else
        summary+=("$(printf '%-15s ok       execs %-9s cov %-6s ft %-6s corpus %s' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}")")
    fi
    if [ "$UPDATE" -eq 1 ] && [ "$status" -eq 0 ]; then
        # Keep only the inputs that add coverage, from the seeds and this run's corpus.
        fresh="$FUZZ/work/$name.merged"
        rm -rf "$fresh"; mkdir -p "$fresh" "$FUZZ/corpus/$name"
        "$BIN/$target" -merge=1 -max_len=4096 -timeout=10 -malloc_limit_mb=64 -rss_limit_mb=2048 \
            "$fresh" "$FUZZ/corpus/$name" "$work" >"$FUZZ/work/$name.merge.log" 2>&1
        rm -rf "$FUZZ/corpus/$name"; mv "$fresh" "$FUZZ/corpus/$name"
        log "$target: committed corpus now $(ls "$FUZZ/corpus/$name" | wc -l) inputs"
    fi
done

echo
log "results (${SECONDS_TOTAL} s in all, ${per_target} s per target; logs in tools/fuzz/work/):"
for line in "${summary[@]}"; do echo "  $line"; done
if [ "$failures" -ne 0 ]; then
    log "$failures target(s) found a problem; the inputs are kept in tools/fuzz/findings/"
    exit 1
fi
log "no findings"
