#!/usr/bin/env bash
# Server throughput on loopback: one load generator (benches/examples/coap_load.rs), the same
# parameters, one machine, against
#   - libcoap's coap-server-notls (Debian libcoap3-bin), GET /time, plain;
#   - aiocoap (benches/peers/aiocoap_server.py), GET /3/0/0, plain and OSCORE;
#   - `mote serve` of this tree, GET /3/0/0, plain and OSCORE (RFC 8613 C.1 contexts).
# Prints one JSON line per run and a table (docs/performance.md, "Server throughput").
#
#   scripts/bench-servers.sh            # SOCKETS=4 WINDOW=4 COUNT=100000 DURATION=10 REPEAT=3
#   SOCKETS=2 WINDOW=8 COUNT=50000 scripts/bench-servers.sh
#
# Needs: coap-server-notls (apt-get install libcoap3-bin), python3 (a venv with aiocoap is made
# in target/bench-venv unless MOTE_BENCH_PYTHON names a Python that has it). A server that is
# missing is reported as skipped. Every server started here is stopped on exit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SOCKETS=${SOCKETS:-4}
WINDOW=${WINDOW:-4}
COUNT=${COUNT:-100000}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-3} # runs per server; the table shows the run with the median req/s
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/mote-bench-servers.XXXXXX")
PIDS=()
GENERATOR=
cleanup() {
    local pid
    [ -n "$GENERATOR" ] && kill "$GENERATOR" 2>/dev/null || true
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building (release) ..." >&2
nice cargo build --release -q -p mote --bin mote
nice cargo build --release -q -p mote-benches --example coap_load
MOTE=$TARGET_DIR/release/mote
LOAD=$TARGET_DIR/release/examples/coap_load

# aiocoap: an existing Python with aiocoap, or a venv under target/.
PY=${MOTE_BENCH_PYTHON:-$ROOT/target/bench-venv/bin/python}
if ! "$PY" -c 'import aiocoap' 2>/dev/null; then
    echo "creating $ROOT/target/bench-venv with aiocoap ..." >&2
    python3 -m venv "$ROOT/target/bench-venv"
    PY=$ROOT/target/bench-venv/bin/python
    "$PY" -m pip install -q "$(grep '^aiocoap' scripts/interop-requirements.txt)"
fi

# The RFC 8613 Appendix C.1 contexts: C.1.1 is the client, C.1.2 the server. Context files
# hold the master secret: created 0600 (mote refuses one that group or others can read).
umask 077
SECRET=0102030405060708090a0b0c0d0e0f10
SALT=9e7ca92223786340
printf '{"master_secret":"%s","master_salt":"%s","sender_id":"","recipient_id":"01"}\n' \
    "$SECRET" "$SALT" >"$WORK/client.json"
fresh_mote_server_context() { # mote serve persists a sequence file beside its context
    local d
    d=$(mktemp -d "$WORK/mote-ctx.XXXXXX")
    printf '{"master_secret":"%s","master_salt":"%s","sender_id":"01","recipient_id":""}\n' \
        "$SECRET" "$SALT" >"$d/server.json"
    echo "$d/server.json"
}
fresh_aiocoap_context() { # aiocoap writes its sequence.json into the directory
    local d
    d=$(mktemp -d "$WORK/aiocoap-ctx.XXXXXX")
    printf '{"secret_hex":"%s","salt_hex":"%s","sender-id_hex":"01","recipient-id_hex":""}\n' \
        "$SECRET" "$SALT" >"$d/secret.json"
    echo "$d"
}

free_udp_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts "$@" in the background with stdout to a file; sets PORT to its first line. (Not in a
# command substitution: the PID must be recorded in this shell for the cleanup.)
start_printing_port() {
    local out
    out=$(mktemp "$WORK/out.XXXXXX")
    "$@" >"$out" 2>"$out.err" &
    PIDS+=($!)
    for _ in $(seq 100); do
        if [ -s "$out" ] && head -1 "$out" | grep -qE '^[0-9]+$'; then
            PORT=$(head -1 "$out")
            return 0
        fi
        sleep 0.1
    done
    echo "server did not print its port: $* ($(cat "$out.err"))" >&2
    return 1
}

stop_last() {
    local last=$((${#PIDS[@]} - 1))
    kill "${PIDS[$last]}" 2>/dev/null || true
    wait "${PIDS[$last]}" 2>/dev/null || true
    unset "PIDS[$last]"
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
# LABEL START PATH [--oscore FILE]: REPEAT runs of the generator, each against a server freshly
# started by the function START (which sets PORT). A fresh server per run: the generator's
# OSCORE context starts at sequence number 0 every run (nothing persists), so a server that
# had seen those Partial IVs would rightly answer "Replay detected".
measure() {
    local label=$1 start=$2 path=$3
    shift 3
    local line i
    for i in $(seq "$REPEAT"); do
        "$start"
        # In the background and waited for: `wait` returns at once on a signal, so an
        # interrupted run cleans up without waiting for the generator to finish.
        "$LOAD" --target "127.0.0.1:$PORT" --path "$path" --sockets "$SOCKETS" \
            --window "$WINDOW" --count "$COUNT" --duration "$DURATION" --label "$label" "$@" \
            >"$WORK/line" &
        GENERATOR=$!
        if wait "$GENERATOR"; then
            GENERATOR=
            line=$(cat "$WORK/line")
            echo "$line"
            echo "$line" >>"$RESULTS"
        else
            GENERATOR=
            echo "{\"label\":\"$label\",\"skipped\":\"the generator failed\"}" | tee -a "$RESULTS"
        fi
        stop_last
    done
}
skip() {
    echo "{\"label\":\"$1\",\"skipped\":\"$2\"}" | tee -a "$RESULTS"
}

start_libcoap() {
    PORT=$(free_udp_port)
    coap-server-notls -A 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 0.3 # the generator's warm-up retries until the server answers
}
start_aiocoap_plain() { start_printing_port "$PY" benches/peers/aiocoap_server.py; }
start_aiocoap_oscore() {
    start_printing_port "$PY" benches/peers/aiocoap_server.py --oscore "$(fresh_aiocoap_context)"
}
start_mote_plain() { start_printing_port "$MOTE" serve --listen 127.0.0.1:0 --print-port; }
# A fresh server context each run: mote serve starts it without a replay window and the
# generator's warm-up answers its Echo challenge (RFC 8613 Appendix B.1.2).
start_mote_oscore() {
    start_printing_port "$MOTE" serve --listen 127.0.0.1:0 --print-port \
        --oscore "$(fresh_mote_server_context)"
}

echo "generator: $SOCKETS sockets x $WINDOW in flight, $COUNT requests, cap ${DURATION}s, $REPEAT runs each" >&2

# libcoap: plain only (no OSCORE configuration of coap-server-notls is set up here).
if command -v coap-server-notls >/dev/null; then
    measure "libcoap plain" start_libcoap /time
else
    skip "libcoap plain" "coap-server-notls not installed (apt-get install libcoap3-bin)"
fi
measure "aiocoap plain" start_aiocoap_plain /3/0/0
measure "aiocoap OSCORE" start_aiocoap_oscore /3/0/0 --oscore "$WORK/client.json"
measure "mote plain" start_mote_plain /3/0/0
measure "mote OSCORE" start_mote_oscore /3/0/0 --oscore "$WORK/client.json"

python3 - "$RESULTS" <<'EOF'
import json, sys
runs = {}
for line in open(sys.argv[1]):
    if line.strip():
        r = json.loads(line)
        runs.setdefault(r["label"], []).append(r)
by = {}
print()
print("| server | req/s (median run) | req/s min–max | p50 ms | p99 ms | ok | lost | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for label, rs in runs.items():
    if any("skipped" in r for r in rs):
        skipped = next(r["skipped"] for r in rs if "skipped" in r)
        print(f"| {label} | skipped: {skipped} | | | | | | |")
        continue
    rs = sorted(rs, key=lambda r: r["rps"])
    r = by[label] = rs[len(rs) // 2]
    print(f"| {label} | {r['rps']:.0f} | {rs[0]['rps']:.0f}–{rs[-1]['rps']:.0f} "
          f"| {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['ok']} | {r['lost']} | {r['errors']} |")
def ratio(a, b):
    ra, rb = by.get(a, {}), by.get(b, {})
    if ra.get("rps") and rb.get("rps"):
        print(f"{a} / {b}: {ra['rps'] / rb['rps']:.2f}x req/s")
print()
ratio("mote plain", "libcoap plain")
ratio("mote plain", "aiocoap plain")
ratio("mote OSCORE", "mote plain")
ratio("aiocoap OSCORE", "aiocoap plain")
EOF
