#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser of untrusted input (docs/FUZZING.md): builds the
# cargo-fuzz targets in fuzz/ once, then runs each for a bounded time, NPROC at a time.
# Exits non-zero if any target crashes, times out or runs out of memory; the input that
# did it is left in fuzz/artifacts/<target>/ (gitignored) and named in the output.
#
# Usage: scripts/fuzz.sh [TARGET...]        (default: every target)
#        scripts/fuzz.sh --write-seeds      (regenerate the committed fuzz/seeds/)
# Settings (environment):
#   VDC_FUZZ_BUDGET_SECS  fuzzing wall time shared by all targets (default 200: with a warm
#                         build the whole step stays under 5 minutes on 2 cores)
#   VDC_FUZZ_SECS         seconds per target (default: computed from the budget)
#   VDC_FUZZ_JOBS         targets run at once (default: number of cores)
#   VDC_FUZZ_TARGET_DIR   cargo target dir for the instrumented build
#                         (default ~/.cache/vdc-fuzz-target)
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.1

# The instrumented (ASan + SanitizerCoverage) build can reuse nothing of a normal build, so
# it has its own target dir; CARGO_TARGET_DIR from .ci/run would mix the two.
export CARGO_TARGET_DIR="${VDC_FUZZ_TARGET_DIR:-$HOME/.cache/vdc-fuzz-target}"
# cargo fuzz passes nightly-only rustc flags (-Zsanitizer=address and the sancov options).
# Only the stable toolchain exists on our machines and CI (no rustup toolchain can be
# fetched); RUSTC_BOOTSTRAP=1 makes that stable rustc accept -Z flags. It affects only the
# fuzz build, which ships nothing.
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never

if [ "${1:-}" = "--write-seeds" ]; then
    cargo run --locked --manifest-path fuzz/Cargo.toml -p vdc-fuzz-common --bin write_seeds
    exit 0
fi

if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi
n=${#targets[@]}
jobs=${VDC_FUZZ_JOBS:-$(nproc)}
budget=${VDC_FUZZ_BUDGET_SECS:-200}
# Each of `jobs` slots runs ceil(n / jobs) targets one after another within the budget.
rounds=$(( (n + jobs - 1) / jobs ))
secs=${VDC_FUZZ_SECS:-$(( budget / rounds ))}
[ "$secs" -ge 1 ] || secs=1

# Release build (cargo fuzz default), ASan on. Not `--debug-assertions`: that changes
# RUSTFLAGS and doubles the cold build; run it by hand for overflow checks (docs/FUZZING.md).
echo "fuzz: building ${n} targets"
cargo fuzz build --fuzz-dir fuzz

logs="$CARGO_TARGET_DIR/fuzz-logs"
corpora="$CARGO_TARGET_DIR/fuzz-corpus"
mkdir -p "$logs"
echo "fuzz: ${n} targets, ${secs} s each, ${jobs} at a time"

run_one() {
    local t=$1
    mkdir -p "$corpora/$t" "fuzz/artifacts/$t"
    # The first corpus dir is where new inputs go (kept outside the repo, so coverage
    # accumulates across runs on one machine); fuzz/seeds/<t> is only read.
    # -timeout: one input taking 10 s is a finding (unbounded work, G8), not a slow run.
    local rc=0
    cargo fuzz run --fuzz-dir fuzz "$t" "$corpora/$t" "fuzz/seeds/$t" -- \
        -dict=fuzz/dict/jose.dict -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$logs/$t.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$t.rc"
}

for t in "${targets[@]}"; do
    rm -f "$logs/$t.rc"
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
        wait -n || true
    done
    run_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
    if [ "$(cat "$logs/$t.rc" 2>/dev/null || echo missing)" != 0 ]; then
        failed+=("$t")
    fi
done

printf '%-12s %8s %12s %10s %s\n' target seconds executions exec/s result
for t in "${targets[@]}"; do
    log="$logs/$t.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    result=ok
    if [[ " ${failed[*]} " == *" $t "* ]]; then
        result="FAILED: $(grep -m1 -oE 'SUMMARY: .*|ERROR: libFuzzer: .*|panicked at .*' "$log" || echo "see $log")"
    fi
    printf '%-12s %8s %12s %10s %s\n' "$t" "${took:-?}" "${runs:-?}" "${rate:-?}" "$result"
done

if [ "${#failed[@]}" -gt 0 ]; then
    for t in "${failed[@]}"; do
        echo "fuzz: $t failed; input in fuzz/artifacts/$t/, log $logs/$t.log:"
        grep -E 'panicked at|ERROR: |SUMMARY: |Test unit written to' "$logs/$t.log" | head -5 || true
    done
    echo "fuzz: reproduce with: RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> <artifact>"
    exit 1
fi
echo "fuzz: ${n} targets ran ${secs} s each, no crash"
