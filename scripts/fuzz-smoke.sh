#!/usr/bin/env bash
# Runs every smp-proto fuzz target for a short time (default 20 s each).
#
#   scripts/fuzz-smoke.sh [SECONDS] [TARGET...]
#
# Needs `cargo install cargo-fuzz`. Uses a nightly toolchain when one is installed (unless
# FUZZ_STABLE=1); otherwise the stable toolchain with RUSTC_BOOTSTRAP=1, since
# cargo-fuzz passes nightly-only `-Z` flags (sanitizer, coverage). The stable fallback was checked
# with Rust 1.95 (x86_64 Linux, AddressSanitizer): it builds and runs the targets. Stable builds go
# to fuzz/target-stable so they do not invalidate the nightly ones.
# Exits non-zero on the first target that finds a crash; the input is left under
# fuzz/artifacts/<target>/.
set -euo pipefail

seconds="${1:-20}"
stable_target=()
shift || true
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz-smoke: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
    exit 2
fi

if [ "${FUZZ_STABLE:-0}" != 1 ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    runner=(cargo +nightly fuzz)
    echo "fuzz-smoke: using the nightly toolchain"
else
    export RUSTC_BOOTSTRAP=1
    runner=(cargo fuzz)
    stable_target=(--target-dir "$root/fuzz/target-stable")
    echo "fuzz-smoke: no nightly toolchain; using stable with RUSTC_BOOTSTRAP=1"
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <("${runner[@]}" list)
fi

for target in "${targets[@]}"; do
    echo "fuzz-smoke: $target for ${seconds}s"
    mkdir -p "corpus/$target"
    log="/tmp/fuzz-smoke-$target.log"
    status=0
    "${runner[@]}" run "${stable_target[@]}" "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=20000 \
        >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ *DONE|Done [0-9]+ runs|SUMMARY|==[0-9]+== *ERROR)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log" >&2
        echo "fuzz-smoke: $target FAILED (status $status, log $log)" >&2
        exit 1
    fi
done
echo "fuzz-smoke: all ${#targets[@]} targets ran ${seconds}s without findings"
