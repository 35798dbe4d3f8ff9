#!/usr/bin/env bash
# Footprint of the LwM2M client engine with OSCORE (registration, Device Management, Observe
# over the mote-coap endpoint; one Device object; the device configuration of the probe's
# Cargo.toml) on thumbv7em-none-eabihf, opt-level "z", fat LTO, --icf=all, software crypto
# (AES-CCM, HKDF-SHA-256): builds the probe in
# crates/mote-lwm2m-client/footprint/ and prints .text + .rodata. Recorded in
# docs/performance.md (mote-lwm2m-client, Footprint).
#
#   scripts/lwm2m-client-footprint.sh              # prints the size
#   LIMIT=65536 scripts/lwm2m-client-footprint.sh  # also fails when it is larger
#   SYMBOLS=40 scripts/lwm2m-client-footprint.sh   # also lists the 40 largest symbols
#   CRATES=1 scripts/lwm2m-client-footprint.sh     # also sums the symbols by crate
#
# Needs: rustup target add thumbv7em-none-eabihf; rustup component add llvm-tools.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
probe="$root/crates/mote-lwm2m-client/footprint"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/tmp/target-lwm2m-client-footprint}"
sysroot="$(rustc --print sysroot)"
size="$(find "$sysroot/lib/rustlib" -name llvm-size -type f | head -n 1)"
if [[ -z "$size" ]]; then
    echo "error: llvm-size not found; run: rustup component add llvm-tools" >&2
    exit 1
fi
nm="$(dirname "$size")/llvm-nm"

(cd "$probe" && cargo build --release --quiet)
elf="$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/mote-lwm2m-client-footprint"
line="$("$size" -A "$elf" | awk '
    $1 == ".text" { t = $2 } $1 == ".rodata" { r = $2 }
    END { printf "client engine + OSCORE: .text %6d  .rodata %5d  total %6d bytes (%.1f KB)\n", t, r, t + r, (t + r) / 1024 }')"
echo "$line"
total="$(echo "$line" | sed -E 's/.*total +([0-9]+) bytes.*/\1/')"
if [[ -n "${SYMBOLS:-}" ]]; then
    "$nm" --size-sort --reverse-sort -S -C "$elf" |
        sed -n "1,${SYMBOLS}p" |
        while read -r _ sz _ name; do printf '%6d  %s\n' "$((16#$sz))" "${name:0:110}"; done
fi
if [[ -n "${CRATES:-}" ]]; then
    "$nm" --size-sort -S -C "$elf" | python3 -c '
import collections, sys
sizes = collections.Counter()
for line in sys.stdin:
    p = line.split(None, 3)
    if len(p) < 4 or p[2] not in "tTrR":
        continue
    # Legacy-mangled trait impls keep their escapes (`_$LT$impl$u20$a..B$GT$::f`,
    # `_$LT$a..T$u20$as$u20$b..Tr$GT$::f`): undo them, then the crate is the first path segment.
    name = p[3].strip().lstrip("_")
    for esc, text in (("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("..", "::")):
        name = name.replace(esc, text)
    name = name.lstrip("<&*")
    if name.startswith("impl "):
        name = name[5:]
    if name.startswith("dyn "):
        name = name[4:]
    crate = name.split("::")[0].split(" ")[0].split("<")[0].split("$")[0]
    sizes[crate or "(unnamed)"] += int(p[1], 16)
for crate, n in sizes.most_common(15):
    print(f"{n:8d}  {crate}")'
fi
if [[ -n "${LIMIT:-}" && "$total" -gt "$LIMIT" ]]; then
    echo "error: $total bytes > LIMIT $LIMIT" >&2
    exit 1
fi
