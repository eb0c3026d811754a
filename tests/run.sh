#!/usr/bin/env bash
# The README's test command: installs what the suite needs and is missing on
# a fresh Debian machine with Rust, then runs every test of the workspace.
#
#   Node.js + npm   the real npm `primus@8.0.9` (interop) and playwright-core
#                   and TypeScript (browser tests), installed with `npm ci`
#   Chromium        Debian's /usr/bin/chromium, driven headless
#   redis-server    Debian's redis-server (and redis-cli), started by the
#                   cluster tests on free ports (the package starts nothing)
#
# System packages come from apt-get (as root, or through sudo when it is
# available). Extra arguments are passed to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_install() {
    local runner=()
    if [ "$(id -u)" != 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            runner=(sudo)
        else
            echo "tests/run.sh: missing $*; install it (apt-get install -y $*) or run as root" >&2
            exit 1
        fi
    fi
    "${runner[@]}" apt-get update
    DEBIAN_FRONTEND=noninteractive "${runner[@]}" apt-get install -y "$@"
}

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
    apt_install "${missing[@]}"
fi
echo "node $(node --version), npm $(npm --version), $(/usr/bin/chromium --version), $(redis-server --version | cut -d' ' -f1-3)"

for dir in tests/interop tests/browser; do
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        (cd "$dir" && npm ci --no-audit --no-fund)
    fi
done

cargo test --workspace "$@"
