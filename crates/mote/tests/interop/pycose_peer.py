"""pycose side of crates/mote/tests/interop_pycose.rs.

    pycose_peer.py seal TYPE ALG KEY_COSE_KEY_HEX PAYLOAD_HEX AAD_HEX [KID_HEX]
        prints the tagged COSE message (hex) that pycose creates
    pycose_peer.py open TYPE KEY_COSE_KEY_HEX MESSAGE_HEX AAD_HEX
        prints the payload (hex) after pycose decrypted / verified it; exit 1 on failure

TYPE is encrypt0, mac0 or sign1; ALG a COSE algorithm identifier; keys are COSE_Key CBOR.
"""

import os
import sys

from pycose.headers import IV, KID, Algorithm
from pycose.keys import CoseKey
from pycose.messages import CoseMessage, Enc0Message, Mac0Message, Sign1Message

IV_LEN = {1: 12, 2: 12, 3: 12, 10: 13, 11: 13, 12: 7, 13: 7, 30: 13, 31: 13, 32: 7, 33: 7, 24: 12}


def seal(kind, alg, key_hex, payload_hex, aad_hex, kid_hex=None):
    key = CoseKey.decode(bytes.fromhex(key_hex))
    payload = bytes.fromhex(payload_hex)
    uhdr = {}
    if kid_hex:
        uhdr[KID] = bytes.fromhex(kid_hex)
    if kind == "encrypt0":
        uhdr[IV] = os.urandom(IV_LEN[alg])
        msg = Enc0Message(phdr={Algorithm: alg}, uhdr=uhdr, payload=payload)
    elif kind == "mac0":
        msg = Mac0Message(phdr={Algorithm: alg}, uhdr=uhdr, payload=payload)
    elif kind == "sign1":
        msg = Sign1Message(phdr={Algorithm: alg}, uhdr=uhdr, payload=payload)
    else:
        raise SystemExit(f"unknown type {kind}")
    msg.external_aad = bytes.fromhex(aad_hex)
    msg.key = key
    print(msg.encode(tag=True).hex())


def open_(kind, key_hex, msg_hex, aad_hex):
    key = CoseKey.decode(bytes.fromhex(key_hex))
    msg = CoseMessage.decode(bytes.fromhex(msg_hex))
    msg.key = key
    msg.external_aad = bytes.fromhex(aad_hex)
    if kind == "encrypt0":
        if not isinstance(msg, Enc0Message):
            raise SystemExit("not an Encrypt0")
        payload = msg.decrypt()
    elif kind == "mac0":
        if not isinstance(msg, Mac0Message) or not msg.verify_tag():
            print("MAC verification failed", file=sys.stderr)
            raise SystemExit(1)
        payload = msg.payload
    elif kind == "sign1":
        if not isinstance(msg, Sign1Message) or not msg.verify_signature():
            print("signature verification failed", file=sys.stderr)
            raise SystemExit(1)
        payload = msg.payload
    else:
        raise SystemExit(f"unknown type {kind}")
    print(payload.hex())


def main(argv):
    if len(argv) >= 6 and argv[1] == "seal":
        seal(argv[2], int(argv[3]), argv[4], argv[5], argv[6], argv[7] if len(argv) > 7 else None)
    elif len(argv) == 6 and argv[1] == "open":
        try:
            open_(argv[2], argv[3], argv[4], argv[5])
        except SystemExit:
            raise
        except Exception as e:  # a failed check in pycose raises
            print(f"rejected: {e!r}", file=sys.stderr)
            raise SystemExit(1)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
