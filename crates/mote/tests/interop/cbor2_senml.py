"""SenML-CBOR peer for crates/mote/tests/interop_cbor2.rs, on the PyPI `cbor2` decoder.

  decode HEX         -> JSON of the decoded CBOR (int map keys as strings, bytes as
                        {"bytes": hex}); an independent reading of what mote wrote.
  encode MODE JSON   -> hex of cbor2.dumps of a SenML pack given as JSON (keys "-2", "0",
                        …, "vlo"; {"bytes": hex} for byte strings); MODE "canonical" uses
                        cbor2's canonical (shortest float) encoding, "plain" its default
                        (doubles for every float).
"""
import json
import sys

import cbor2


def to_json(v):
    if isinstance(v, bytes):
        return {"bytes": v.hex()}
    if isinstance(v, list):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    return v


def from_json(v):
    if isinstance(v, dict) and set(v) == {"bytes"}:
        return bytes.fromhex(v["bytes"])
    if isinstance(v, list):
        return [from_json(x) for x in v]
    if isinstance(v, dict):
        return {(k if k == "vlo" else int(k)): from_json(x) for k, x in v.items()}
    return v


def main():
    cmd = sys.argv[1]
    if cmd == "decode":
        print(json.dumps(to_json(cbor2.loads(bytes.fromhex(sys.argv[2])))))
    elif cmd == "encode":
        pack = from_json(json.loads(sys.argv[3]))
        print(cbor2.dumps(pack, canonical=(sys.argv[2] == "canonical")).hex())
    else:
        sys.exit("unknown command")


main()
