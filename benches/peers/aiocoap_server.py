"""A minimal aiocoap 0.4.x server for scripts/bench-servers.sh: one small resource,
GET /3/0/0 -> 2.05 "Open Mobile Alliance" (20 bytes, text/plain), the same path and payload
size as `mote serve`'s /3/0/0.

    python aiocoap_server.py [--oscore CTXDIR]

Binds an ephemeral UDP port on 127.0.0.1 and prints it on the first line of stdout. With
--oscore, CTXDIR is an aiocoap FilesystemSecurityContext directory (secret.json; aiocoap writes
its sequence.json there) and the resource requires OSCORE (OscoreSiteWrapper). Runs until
killed.
"""

import asyncio
import sys

import aiocoap
import aiocoap.resource as resource


class Text(resource.Resource):
    async def render_get(self, request):
        return aiocoap.Message(payload=b"Open Mobile Alliance", content_format=0)


def udp_port(ctx):
    for t in ctx.request_interfaces:
        mi = getattr(getattr(t, "token_interface", None), "message_interface", None)
        if mi is not None:
            tr = mi.transport
            sock = tr._sock if hasattr(tr, "_sock") else tr.get_extra_info("socket")
            return sock.getsockname()[1]
    return None


async def main(argv):
    site = resource.Site()
    site.add_resource(["3", "0", "0"], Text())
    if len(argv) == 2 and argv[0] == "--oscore":
        from aiocoap.credentials import CredentialsMap
        from aiocoap.oscore import FilesystemSecurityContext
        from aiocoap.oscore_sitewrapper import OscoreSiteWrapper

        creds = CredentialsMap()
        creds[":client"] = FilesystemSecurityContext(argv[1])
        site = OscoreSiteWrapper(site, creds)
    elif argv:
        sys.exit("usage: aiocoap_server.py [--oscore CTXDIR]")
    # UDP only: no TCP or WebSocket listener on a fixed port.
    ctx = await aiocoap.Context.create_server_context(
        site, bind=("127.0.0.1", 0), transports=["udp6"]
    )
    print(udp_port(ctx), flush=True)
    await asyncio.get_event_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
