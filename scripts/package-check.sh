#!/usr/bin/env bash
# The crates as crates.io would receive them: every publishable crate of the workspace must
# pass `cargo publish --dry-run` in dependency order, and every library crate's packaged
# `.crate`, unpacked on its own, must build and pass its tests (nothing they need may live
# outside the crate's directory). The binary crate's package is built, not tested: its tests
# read files of the sibling crates and drive the interop peers.
#
# The unpacked crates form a scratch workspace whose `[patch.crates-io]` points each mote crate
# at its unpacked sibling, so the unpublished siblings resolve without crates.io; registry
# dependencies come from the local cache (`--offline`) at the versions of the workspace's
# Cargo.lock.
#
# Environment:
#   PACKAGE_CHECK_SECONDS  time limit for the whole check (default 3600)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

if [ -z "${PACKAGE_CHECK_IN_TIMEOUT:-}" ]; then
  export PACKAGE_CHECK_IN_TIMEOUT=1
  exec timeout --foreground "${PACKAGE_CHECK_SECONDS:-3600}" "$0" "$@"
fi

export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
step() { printf '\n--> %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

# Crate names on crates.io that are already taken by another project. Publishing them would
# fail; the dry run reports it and the check goes on (see the report at the end).
known_taken=(mote)

# "name version kinds" of every package whose `publish` is not `false`; the others (the benches
# and the workspace's own test crate) are left out of `cargo package`.
metadata=$(cargo metadata --no-deps --format-version 1 --offline)
mapfile -t packages < <(python3 -c '
import json, sys
packages = json.load(sys.stdin)["packages"]
for p in packages:
    if p["publish"] != []:
        kinds = sorted({k for t in p["targets"] for k in t["kind"]})
        print(p["name"], p["version"], ",".join(kinds))
' <<<"$metadata")
[ "${#packages[@]}" -gt 0 ] || { echo "package-check: no publishable crate found" >&2; exit 1; }
excluded=()
while read -r name; do excluded+=(--exclude "$name"); done < <(python3 -c '
import json, sys
for p in json.load(sys.stdin)["packages"]:
    if p["publish"] == []:
        print(p["name"])
' <<<"$metadata")

step "cargo publish --workspace --dry-run (dependency order, unpublished siblings from a local overlay)"
# Cargo >= 1.90 publishes a whole workspace in dependency order and resolves the not yet
# published siblings against the packages it just built (cargo-publish(1), `--workspace`).
log=$(mktemp)
if ! cargo publish --workspace --dry-run --no-verify --allow-dirty 2>&1 | tee "$log"; then
  echo "package-check: cargo publish --dry-run failed" >&2
  exit 1
fi
while read -r taken; do
  if [[ " ${known_taken[*]} " != *" $taken "* ]]; then
    echo "package-check: crate $taken already exists on crates.io" >&2
    exit 1
  fi
done < <(sed -n 's/^warning: crate \([^@]*\)@.* already exists on crates.io index$/\1/p' "$log")
rm -f "$log"

step "cargo package (every publishable crate)"
cargo package --workspace "${excluded[@]}" --no-verify --allow-dirty

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
members=()
patches=()
for entry in "${packages[@]}"; do
  read -r name version _ <<<"$entry"
  # -m: the files get the current time, so cargo rebuilds the crate from this copy (with the
  # tarball's times an artifact of an earlier run counts as fresh, and `env!` paths in it
  # point at that run's deleted scratch directory).
  tar -xzmf "target/package/$name-$version.crate" -C "$scratch"
  members+=("\"$name-$version\"")
  patches+=("$name = { path = \"$name-$version\" }")
done
{
  echo '[workspace]'
  echo 'resolver = "3"'
  echo "members = [$(IFS=,; echo "${members[*]}")]"
  echo
  echo '[patch.crates-io]'
  printf '%s\n' "${patches[@]}"
} >"$scratch/Cargo.toml"
cp Cargo.lock "$scratch/Cargo.lock"
echo "scratch workspace: $scratch"

# A target directory of its own: the unpacked crates have other paths than the workspace's, and
# their examples and binaries must not replace the workspace's in target/debug.
export CARGO_TARGET_DIR="$root/target/package-check"
for entry in "${packages[@]}"; do
  read -r name version kinds <<<"$entry"
  if [[ ",$kinds," == *",lib,"* ]]; then
    step "unpacked $name-$version: cargo test --all-features"
    (cd "$scratch/$name-$version" && cargo test --offline --all-features)
  else
    step "unpacked $name-$version: cargo build --all-features (binary crate)"
    (cd "$scratch/$name-$version" && cargo build --offline --all-features)
  fi
done
if grep -q 'mote-' "$scratch/Cargo.lock" && grep -A2 'name = "mote-' "$scratch/Cargo.lock" | grep -q '^source = "registry'; then
  echo "package-check: a mote crate was resolved from crates.io instead of its unpacked package" >&2
  exit 1
fi

step "package check passed: ${#packages[@]} crates (known taken names on crates.io: ${known_taken[*]})"
