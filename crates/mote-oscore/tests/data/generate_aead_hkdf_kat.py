#!/usr/bin/env python3
"""Known-answer vectors for OSCORE with every AEAD of mote-oscore and HKDF SHA-256 / SHA-512.

Writes aead_hkdf_kat.txt (same "[section]" / "key = hex" format as rfc8613_appendix_c.txt).
Nothing here uses Mote: the keys, IVs and protected messages come from aiocoap's OSCORE
implementation (aiocoap.oscore, which derives with `cryptography`'s HKDF and seals with its
AESCCM / AESGCM / ChaCha20Poly1305), for the contexts and sequence numbers below.

Run with the interop venv (aiocoap 0.4.x and cryptography installed):

    target/interop-venv/bin/python crates/mote-oscore/tests/data/generate_aead_hkdf_kat.py \
        > crates/mote-oscore/tests/data/aead_hkdf_kat.txt
"""

import sys

import aiocoap.meta
import cryptography
from aiocoap import Message
from aiocoap.oscore import (
    CanProtect,
    Direction,
    CanUnprotect,
    ReplayWindow,
    SecurityContextUtils,
    algorithms,
    hashfunctions,
)


class Context(CanProtect, CanUnprotect, SecurityContextUtils):
    """An in-memory aiocoap security context (no persistence)."""

    def __init__(self, alg, hashfun, secret, salt, sender_id, recipient_id, id_context, seq):
        self.alg_aead = alg
        self.hashfun = hashfun
        self.sender_id = sender_id
        self.recipient_id = recipient_id
        self.id_context = id_context
        self.derive_keys(salt, secret)
        self.sender_sequence_number = seq
        self.recipient_replay_window = ReplayWindow(32, lambda: None)
        self.recipient_replay_window.initialize_empty()
        self.echo_recovery = b"\x00" * 8

    def post_seqnoincrease(self):
        pass


SECRET = bytes.fromhex("0102030405060708090a0b0c0d0e0f10")
SALT = bytes.fromhex("9e7ca92223786340")
ID_CONTEXT = bytes.fromhex("37cbf3210017a2d3")
# RFC 8613 C.4: GET coap://localhost/tv1 (MID 0x5d1f, empty token); C.7: 2.05 "Hello World!".
REQUEST = bytes.fromhex("44015d1f00003974396c6f63616c686f737483747631")
RESPONSE = bytes.fromhex("64455d1f00003974ff48656c6c6f20576f726c6421")
CLIENT_SEQ = 20
SERVER_SEQ = 0

# (COSE alg id, aiocoap name)
AEADS = [
    (1, "A128GCM"),
    (2, "A192GCM"),
    (3, "A256GCM"),
    (10, "AES-CCM-16-64-128"),
    (11, "AES-CCM-16-64-256"),
    (12, "AES-CCM-64-64-128"),
    (13, "AES-CCM-64-64-256"),
    (24, "ChaCha20/Poly1305"),
    (30, "AES-CCM-16-128-128"),
    (31, "AES-CCM-16-128-256"),
    (32, "AES-CCM-64-128-128"),
    (33, "AES-CCM-64-128-256"),
]
HKDFS = [(-10, "sha256"), (-11, "sha512")]
# (name, salt, client sender ID, client recipient ID, ID context): the shapes of C.1 and C.3.
SHAPES = [
    ("salt", SALT, b"", b"\x01", None),
    ("idctx", SALT, b"\x00", b"\x01", ID_CONTEXT),
]


def encode(msg, like):
    msg.mid = like.mid
    msg.token = like.token
    msg.mtype = like.mtype
    return msg.encode()


def outgoing(raw):
    m = Message.decode(raw)
    m.direction = Direction.OUTGOING
    return m


def incoming(raw):
    m = Message.decode(raw)
    m.direction = Direction.INCOMING
    return m


def main():
    out = sys.stdout
    out.write(
        "# OSCORE known answers for every AEAD and both HKDFs, produced by aiocoap "
        f"{aiocoap.meta.version} (aiocoap.oscore) with cryptography {cryptography.__version__}:\n"
        "# see generate_aead_hkdf_kat.py beside this file. Not computed by mote-oscore.\n"
        "# Format as rfc8613_appendix_c.txt; 'hkdf' is the COSE id (-10 SHA-256, -11 SHA-512).\n"
        "# Keys and IV are the client's (sender = client). 'request' is C.4's request protected\n"
        "# by the client at sequence number 20; 'response' is C.7's response protected by the\n"
        "# server reusing the request nonce, 'response_piv' the same with the server's own\n"
        "# Partial IV (sequence number 0).\n"
    )
    for alg_id, alg_name in AEADS:
        alg = algorithms[alg_name]
        for hkdf_id, hash_name in HKDFS:
            for shape, salt, cid, sid, ctx in SHAPES:
                client = Context(alg, hashfunctions[hash_name], SECRET, salt, cid, sid, ctx, CLIENT_SEQ)
                server = Context(alg, hashfunctions[hash_name], SECRET, salt, sid, cid, ctx, SERVER_SEQ)
                req = outgoing(REQUEST)
                protected_req, client_rid = client.protect(req)
                protected_req_bytes = encode(protected_req, req)

                unprotected, server_rid = server.unprotect(incoming(protected_req_bytes))
                assert unprotected.opt.uri_path == ("tv1",), unprotected.opt.uri_path
                resp = outgoing(RESPONSE)
                protected_resp, _ = server.protect(resp, server_rid)
                protected_resp_bytes = encode(protected_resp, resp)
                server_rid.can_reuse_nonce = False
                resp = outgoing(RESPONSE)
                protected_resp_piv, _ = server.protect(resp, server_rid)
                protected_resp_piv_bytes = encode(protected_resp_piv, resp)

                out.write(f"\n[alg{alg_id}-hkdf{-hkdf_id}-{shape}]\n")
                out.write(f"alg = {alg_id}\n")
                out.write(f"hkdf = {hkdf_id}\n")
                out.write(f"master_secret = {SECRET.hex()}\n")
                out.write(f"master_salt = {salt.hex() or '-'}\n")
                out.write(f"sender_id = {cid.hex() or '-'}\n")
                out.write(f"recipient_id = {sid.hex() or '-'}\n")
                if ctx is not None:
                    out.write(f"id_context = {ctx.hex()}\n")
                out.write(f"sender_key = {client.sender_key.hex()}\n")
                out.write(f"recipient_key = {client.recipient_key.hex()}\n")
                out.write(f"common_iv = {client.common_iv.hex()}\n")
                out.write(f"sequence_number = {CLIENT_SEQ}\n")
                out.write(f"unprotected_request = {REQUEST.hex()}\n")
                out.write(f"request = {protected_req_bytes.hex()}\n")
                out.write(f"unprotected_response = {RESPONSE.hex()}\n")
                out.write(f"response = {protected_resp_bytes.hex()}\n")
                out.write(f"server_sequence_number = {SERVER_SEQ}\n")
                out.write(f"response_piv = {protected_resp_piv_bytes.hex()}\n")


if __name__ == "__main__":
    main()
