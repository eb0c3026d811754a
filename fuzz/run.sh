#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the
# other, in one process each. Installs cargo-fuzz when it is missing.
#
# With a nightly toolchain (rustup's `nightly`) the targets are built with
# AddressSanitizer, as `cargo fuzz` does by default; a machine with only
# the stable toolchain builds them without a sanitizer (`-s none`, which
# cargo fuzz can do on stable), which is enough for this crate's safe code.
# FUZZ_TOOLCHAIN and FUZZ_SANITIZER choose otherwise. FUZZ_PROFILE=dev
# builds with the dev profile (opt-level 1, quicker to build: CI uses it,
# without a sanitizer); the default is cargo fuzz's optimized build.
#
#   fuzz/run.sh                 20 seconds each (what .ci/run does, shorter)
#   fuzz/run.sh 3600            an hour each: a long run
#   fuzz/run.sh 600 json_scan   ten minutes of one target
#
# Inputs that add coverage go to target/new-corpus/<target>/ (ignored by git),
# the committed corpus/<target>/ is only read; README.md says how to merge
# them. A crash or a failed check stops the script with the input saved in
# artifacts/<target>/ and the command that reproduces it.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${1:-20}"
shift || true
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    toolchain="$FUZZ_TOOLCHAIN"
elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=nightly
else
    toolchain=stable
fi
if [ "$toolchain" = stable ]; then
    sanitizer="${FUZZ_SANITIZER:-none}"
else
    sanitizer="${FUZZ_SANITIZER:-address}"
fi
build=(-s "$sanitizer")
if [ "${FUZZ_PROFILE:-release}" = dev ]; then
    build+=(--dev)
fi
echo "fuzz/run.sh: $(cargo "+$toolchain" --version), ${build[*]}, ${seconds}s per target"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo "+$toolchain" fuzz list)
fi

# AddressSanitizer's allocator keeps freed memory: a long json_write run
# crossed libFuzzer's default 2 GB RSS limit with 36 MB live (README.md,
# "Runs"), so sanitized runs get 4 GB.
limits=()
if [ "$sanitizer" = address ]; then
    limits+=(-rss_limit_mb=4096)
fi

cargo "+$toolchain" fuzz build "${build[@]}"
for target in "${targets[@]}"; do
    new="target/new-corpus/$target"
    mkdir -p "$new" "corpus/$target"
    echo "== fuzz $target for ${seconds}s"
    # -timeout: one input running longer than 10 s is a hang (and a failure).
    # grep hides libFuzzer's progress lines; the status is cargo fuzz's.
    set +e
    cargo "+$toolchain" fuzz run "${build[@]}" "$target" "$new" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${limits[@]}" 2>&1 |
        grep --line-buffered -Ev '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)'
    status="${PIPESTATUS[0]}"
    set -e
    if [ "$status" != 0 ]; then
        echo "fuzz/run.sh: $target failed; the input is in fuzz/artifacts/$target/." >&2
        echo "Reproduce: cd fuzz && cargo +$toolchain fuzz run ${build[*]} $target artifacts/$target/<file>" >&2
        exit "$status"
    fi
done
