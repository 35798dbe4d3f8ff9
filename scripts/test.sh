#!/usr/bin/env bash
# Everything, on a fresh machine: installs what it needs (idempotent), then runs fmt, clippy,
# the workspace tests, every example, the build with the declared MSRV, the packaged crates
# (scripts/package-check.sh), the no_std builds, the doc build, the interop tests against real
# peers, the attack suite and a short fuzz smoke run. Exit status is non-zero on the first failure.
#
# Environment:
#   FUZZ_SECONDS   seconds per fuzz target in the smoke run (default 10)
#   MOTE_SKIP_INSTALL=1  do not run the installers (for a machine already set up)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fuzz_seconds=${FUZZ_SECONDS:-10}
venv="$root/target/interop-venv"
export MOTE_PYTHON="$venv/bin/python"
node_peers="$root/target/interop-node"
export MOTE_NODE_MODULES="$node_peers/node_modules"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n==> %s  [%s]\n' "$*" "$(date -u +%H:%M:%S)"; }

# Protocol crates built for a bare-metal target with no default features (no std, no alloc).
no_std_crates=()
for dir in crates/mote-*/; do
  no_std_crates+=("$(basename "$dir")")
done

# The workspace's rust-version: the toolchain the MSRV step builds with.
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "no rust-version in Cargo.toml" >&2; exit 1; }

install() {
  step "install: apt packages (libcoap3-bin)"
  if ! command -v coap-server-notls >/dev/null 2>&1 || ! command -v coap-client-notls >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq libcoap3-bin >/dev/null
  fi
  coap-client-notls -h 2>&1 | head -n 1 || true

  step "install: rustup target thumbv7em-none-eabihf"
  rustup target add thumbv7em-none-eabihf >/dev/null
  rustup component add llvm-tools >/dev/null 2>&1 || rustup component add llvm-tools-preview >/dev/null

  step "install: the declared minimum Rust version ($msrv, rust-version in Cargo.toml)"
  rustup toolchain install "$msrv" --profile minimal >/dev/null

  step "install: cargo-fuzz (nightly toolchain for the fuzz run)"
  if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
  fi

  step "install: Python interop peers into $venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/interop-requirements.txt

  step "install: aiocoap 0.4.17 source distribution (OSCORE plugtest client and server)"
  # The sdist on PyPI carries contrib/oscore-plugtest/; its SHA-256 is the one PyPI lists.
  local sdist="$root/target/aiocoap-0.4.17.tar.gz"
  local sdist_sha256=464c8d2b85ec1ef435dabeaa3fb6c8256b40fadfe6ce4ca83b93acb8d555f436
  if [ ! -f "$sdist" ]; then
    "$venv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
      --no-binary :all: aiocoap==0.4.17 -d "$root/target"
  fi
  echo "$sdist_sha256  $sdist" | sha256sum --check --quiet
  tar -xzf "$sdist" -C "$root/target" aiocoap-0.4.17/contrib/oscore-plugtest

  step "install: lwm2m-node-lib 1.4.0 (npm, LwM2M 1.0 client and server) into $node_peers"
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  fi
  node --version
  # The exact tree of package-lock.json (integrity-checked), nothing run at install time.
  mkdir -p "$node_peers"
  cp crates/mote/tests/interop/lwm2m_node/package.json \
    crates/mote/tests/interop/lwm2m_node/package-lock.json "$node_peers/"
  timeout 600 npm ci --prefix "$node_peers" --ignore-scripts --no-audit --no-fund --loglevel=error
  node -e 'const v = require(process.argv[1] + "/lwm2m-node-lib/package.json").version;
    if (v !== "1.4.0") { throw new Error("lwm2m-node-lib " + v + " installed, 1.4.0 wanted"); }
    console.log("lwm2m-node-lib " + v);' "$MOTE_NODE_MODULES"
}

if [ "${MOTE_SKIP_INSTALL:-0}" != 1 ]; then
  install
fi

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, -D warnings)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test --workspace --all-features"
cargo test --workspace --all-features

step "cargo test: mote-coap and mote-lwm2m-client with their default features (BTreeMap tables)"
# --all-features above turns on `vec-maps` (the device tables); the default B-tree tables of
# the endpoint and the client engine are tested here.
cargo test -p mote-coap -p mote-lwm2m-client
# The footprint probe's device configuration (no `std` features, OSCORE, sorted-Vec tables):
# each test states the features it needs, and the answers of a device build (4.01 to a
# Bootstrap-Server, 4.05 to composite requests, no pull, empty diagnostics) have their own.
cargo test -p mote-lwm2m-client --no-default-features --features alloc,oscore,vec-maps

step "examples: every crates/*/examples/* runs with all features (each asserts its own outcome)"
for entry in crates/*/examples/*; do
  case "$entry" in
    *.rs) example=$(basename "$entry" .rs) ;;
    *) [ -f "$entry/main.rs" ] || continue; example=$(basename "$entry") ;;
  esac
  manifest="$(dirname "$(dirname "$entry")")/Cargo.toml"
  crate=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1)
  echo "--- $crate --example $example"
  case "$example" in
    # The loopback load run drives the real `mote lwm2m-server` process: a bounded run here
    # (200 OSCORE clients); the 1,000-client release figures are in docs/performance.md.
    udp_load)
      cargo build -q -p mote --all-features
      cargo run -q -p "$crate" --all-features --example "$example" -- target/debug/mote 200 ;;
    *) cargo run -q -p "$crate" --all-features --example "$example" ;;
  esac
done

step "MSRV: the workspace's crates (libraries with all features, and the binary) build with Rust $msrv"
# Builds only: the dev-dependencies (criterion, coap-handler-implementations, ...) may need a
# newer toolchain, and tests run above on stable. A target directory of its own keeps the
# stable artifacts.
cargo "+$msrv" build --target-dir target/msrv --workspace --exclude mote-benches \
  --exclude mote-workspace-tests --all-features

step "packaged crates: publish dry-run in dependency order; every unpacked library .crate passes its tests"
PACKAGE_CHECK_SECONDS=2400 scripts/package-check.sh

step "no_std builds for thumbv7em-none-eabihf: ${no_std_crates[*]}"
for crate in "${no_std_crates[@]}"; do
  cargo build -p "$crate" --no-default-features --target thumbv7em-none-eabihf
  if grep -q '^alloc = ' "crates/$crate/Cargo.toml"; then
    cargo build -p "$crate" --no-default-features --features alloc --target thumbv7em-none-eabihf
  fi
done
# mote-cose with one of its optional AEADs: the `chacha20`-without-`aes-gcm` imports (`alloc`
# alone, built above, has neither; `std` has both).
cargo build -p mote-cose --no-default-features --features alloc,chacha20 --target thumbv7em-none-eabihf
# The device configuration of the LwM2M client footprint probe (docs/performance.md): `alloc`
# alone drops mote-coap's `tcp`, mote-oscore's `hkdf-sha512` and mote-lwm2m's optional formats
# (built above); `vec-maps` swaps the tables.
cargo build -p mote-lwm2m-client --no-default-features --features alloc,oscore,vec-maps \
  --target thumbv7em-none-eabihf
# mote-oscore's feature tests in the device configuration: without `hkdf-sha512` / `proxy-uri`
# (and mote-cose's `aes-gcm` / `chacha20` / `aes-ccm-64`) the refusals they check are the ones
# that run.
cargo test -p mote-oscore --no-default-features --features alloc \
  --test hkdf_feature --test proxy_uri_feature --test aead_feature

step "EDHOC footprint: minimal Initiator on thumbv7em-none-eabihf within 32 KiB"
LIMIT=32768 scripts/edhoc-footprint.sh

# The issue's goal is 64 KiB and not met (docs/performance.md); the budget keeps the device
# configuration from growing back unnoticed (162,280 bytes when it was set).
step "LwM2M client footprint: engine + OSCORE on thumbv7em-none-eabihf within 168 KiB"
LIMIT=172032 scripts/lwm2m-client-footprint.sh

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --all-features

step "doc examples: no public entry point without one (issue 14)"
# The examples themselves run in `cargo test --workspace --all-features` above; this fails on a
# public function or method whose doc comment has none. Add a crate here once it has them all.
for crate in mote-edhoc mote-oscore mote-access mote-lwm2m; do
  python3 scripts/doc-examples-check.py "crates/$crate"
done

step "interop tests against real peers"
cargo test -p mote --all-features --test 'interop_*' -- --ignored --test-threads=1

step "attack suite: the hardening findings' attacks against mote serve / proxy / coap on loopback"
# crates/mote/tests/attack.rs: one line per attack ("[finding N] ... ok"), then a table; about
# 2.5 minutes; the outer timeout turns a hang into a failure.
timeout 600 cargo test -p mote --all-features --test attack -- --ignored --nocapture --test-threads=1

step "fuzz smoke run (${fuzz_seconds}s per target)"
(
  cd fuzz
  cargo +nightly fuzz build -O
  for target in $(cargo +nightly fuzz list); do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    scratch=$(mktemp -d)
    echo "--- fuzz $target"
    cargo +nightly fuzz run -O "$target" "$scratch" "$corpus" -- \
      -max_total_time="$fuzz_seconds" -rss_limit_mb=2048 -print_final_stats=0 2>&1 | tail -n 3
    rm -rf "$scratch"
  done
)

step "all checks passed"
