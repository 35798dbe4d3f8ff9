#!/usr/bin/env bash
# Footprint of a minimal EDHOC Initiator (method 3, cipher suite 2, OSCORE hand-off) on
# thumbv7em-none-eabihf, opt-level "z", fat LTO, --icf=all, software crypto from RustCrypto: builds the probe in
# crates/mote-edhoc/footprint/ twice (the handshake, and its crypto calls alone) and prints
# .text + .rodata of each. Recorded in docs/performance.md (mote-edhoc, Footprint).
#
#   scripts/edhoc-footprint.sh            # prints the table
#   LIMIT=32768 scripts/edhoc-footprint.sh  # also fails when the handshake build is larger
#   SYMBOLS=40 scripts/edhoc-footprint.sh   # also lists the 40 largest symbols of that build
#
# Needs: rustup target add thumbv7em-none-eabihf; rustup component add llvm-tools.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
probe="$root/crates/mote-edhoc/footprint"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-edhoc-footprint}"
sysroot="$(rustc --print sysroot)"
size="$(find "$sysroot/lib/rustlib" -name llvm-size -type f | head -n 1)"
nm="$(dirname "$size")/llvm-nm"
if [[ -z "$size" ]]; then
    echo "error: llvm-size not found; run: rustup component add llvm-tools" >&2
    exit 1
fi

measure() { # $1 = label, rest = extra cargo arguments
    local label="$1"
    shift
    (cd "$probe" && cargo build --release --quiet "$@")
    local elf="$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/mote-edhoc-footprint"
    "$size" -A "$elf" | awk -v label="$label" '
        $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 }
        END { printf "%-34s .text %6d  .rodata %5d  total %6d bytes (%.1f KB)\n", label, t, r, t + r, (t + r) / 1024 }'
}

measure "crypto only (feature crypto-only)" --features crypto-only
line="$(measure "Initiator m3/s2 + OSCORE hand-off")"
echo "$line"
total="$(echo "$line" | sed -E 's/.*total +([0-9]+) bytes.*/\1/')"
if [[ -n "${SYMBOLS:-}" ]]; then
    # size (decimal) and demangled name, largest first
    "$nm" --size-sort --reverse-sort -S -C "$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/mote-edhoc-footprint" |
        sed -n "1,${SYMBOLS}p" |
        while read -r _ sz _ name; do printf '%6d  %s\n' "$((16#$sz))" "${name:0:110}"; done
fi
if [[ -n "${LIMIT:-}" && "$total" -gt "$LIMIT" ]]; then
    echo "error: $total bytes > LIMIT $LIMIT" >&2
    exit 1
fi
