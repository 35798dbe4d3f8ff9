"""aiocoap 0.4.x EDHOC peer (lakers-python inside) for crates/mote/tests/interop_aiocoap_edhoc.rs.

server               EDHOC Responder on 127.0.0.1 (UDP, ephemeral port printed on the first
                     line) with RFC 9529 Trace 2's CRED_R and key, knowing CRED_I; resource
                     /3/0/0 ("aiocoap") behind OSCORE
client URI [sep]     EDHOC Initiator with CRED_I and key, knowing CRED_R: GET URI, print
                     "CODE payload-hex"; message_3 goes in the first OSCORE request (RFC 9668)
                     unless "sep" is given (then it is posted to /.well-known/edhoc first)

Both use method 3, cipher suite 2, credentials by key ID (the only ones aiocoap's EDHOC
supports), as the Rust side does.
"""

import asyncio
import sys

import aiocoap
import aiocoap.resource as resource
import cbor2
from aiocoap.credentials import CredentialsMap
from aiocoap.oscore_sitewrapper import OscoreSiteWrapper

# The resource and the port lookup of the OSCORE peer next to this file.
from aiocoap_peer import Text, udp_port

CRED_I = bytes.fromhex(
    "a2027734322d35302d33312d46462d45462d33372d33322d333908a101a5010202412b2001215820ac75e9ece3e50bfc8ed60399889522405c47bf16df96660a41298cb4307f7eb62258206e5de611388a4b8a8211334ac7d37ecb52a387d257e6db3c2a93df21ff3affc8"
)
CRED_R = bytes.fromhex(
    "a2026b6578616d706c652e65647508a101a501020241322001215820bbc34960526ea4d32e940cad2a234148ddc21791a12afbcbac93622046dd44f02258204519e257236b2a0ce2023f0931f1f386ca7afda64fcde0108c224c51eabf6072"
)
SK_I = bytes.fromhex("fb13adeb6518cee5f88417660841142e830a81fe334380a953406a1305e8706b")
SK_R = bytes.fromhex("72cc4761dbd4c78f758931aa589d348d1ef874a7e303ede2f140dcf3e6aa4aac")


def edhoc(own, key, peer, combined=True):
    # aiocoap re-encodes the CCS canonically; Trace 2's CCS are canonical, so CRED_x stays
    # byte for byte the same.
    assert cbor2.dumps(cbor2.loads(own), canonical=True) == own
    return {
        "edhoc-oscore": {
            "suite": 2,
            "method": 3,
            "own_cred_style": "by-key-id",
            "own_cred": {14: cbor2.loads(own)},
            "private_key": {1: 2, -1: 1, -4: key},
            "peer_cred": {14: cbor2.loads(peer)},
            "use_combined_edhoc": combined,
        }
    }


async def server():
    site = resource.Site()
    site.add_resource(["3", "0", "0"], Text(b"aiocoap"))
    creds = CredentialsMap()
    ctx = await aiocoap.Context.create_server_context(
        OscoreSiteWrapper(site, creds), bind=("127.0.0.1", 0)
    )
    port = udp_port(ctx)
    # The Responder's identity is looked up by the origin the request names.
    creds.load_from_dict({f"coap://127.0.0.1:{port}/*": edhoc(CRED_R, SK_R, CRED_I)})
    print(port, flush=True)
    await asyncio.get_event_loop().create_future()


async def client(uri, combined):
    ctx = await aiocoap.Context.create_client_context()
    base = uri.split("/", 3)
    ctx.client_credentials.load_from_dict(
        {f"{base[0]}//{base[2]}/*": edhoc(CRED_I, SK_I, CRED_R, combined)}
    )
    response = await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=uri)).response
    print(f"{response.code.dotted} {response.payload.hex()}", flush=True)
    await ctx.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "server":
        asyncio.run(server())
    else:
        asyncio.run(client(sys.argv[2], not (len(sys.argv) > 3 and sys.argv[3] == "sep")))
