"""aiocoap 0.4.x OSCORE peer for crates/mote/tests/interop_aiocoap.rs.

server CTXDIR [PORT]     run an OSCORE server on 127.0.0.1, UDP and TCP (port printed on the
                         first line; without PORT an ephemeral UDP port, TCP on 5683)
server-multi DIR         the same with one security context per subdirectory of DIR (chosen by
                         'kid'), ephemeral UDP port
client CTXDIR URI OP ... one request (OP: get, put PAYLOAD, post PAYLOAD, delete, observe N,
                         bigput SIZE); prints "CODE payload-hex" per response/notification

CTXDIR is an aiocoap FilesystemSecurityContext directory (secret.json; sequence.json is
created by aiocoap). The server's resources mirror those of `mote serve`.
"""

import asyncio
import os
import sys

import aiocoap
import aiocoap.resource as resource
from aiocoap.credentials import CredentialsMap
from aiocoap.oscore import FilesystemSecurityContext
from aiocoap.oscore_sitewrapper import OscoreSiteWrapper

BIG = bytes(((i * 31) >> 3) & 0xFF for i in range(4096))


class Data(resource.Resource):
    def __init__(self):
        super().__init__()
        self.value = None

    async def render_get(self, request):
        if self.value is None:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        return aiocoap.Message(payload=self.value)

    async def render_put(self, request):
        created = self.value is None
        self.value = request.payload
        return aiocoap.Message(code=aiocoap.CREATED if created else aiocoap.CHANGED)

    async def render_post(self, request):
        self.value = request.payload
        return aiocoap.Message(code=aiocoap.CHANGED, payload=b"posted")

    async def render_delete(self, request):
        if self.value is None:
            return aiocoap.Message(code=aiocoap.NOT_FOUND)
        self.value = None
        return aiocoap.Message(code=aiocoap.DELETED)


class Big(resource.Resource):
    async def render_get(self, request):
        return aiocoap.Message(payload=BIG)


class Counter(resource.ObservableResource):
    def __init__(self):
        super().__init__()
        self.count = 0
        asyncio.get_event_loop().call_later(0.2, self.tick)

    def tick(self):
        self.count += 1
        self.updated_state()
        asyncio.get_event_loop().call_later(0.2, self.tick)

    async def render_get(self, request):
        return aiocoap.Message(payload=str(self.count).encode())


class Text(resource.Resource):
    def __init__(self, text):
        super().__init__()
        self.text = text

    async def render_get(self, request):
        return aiocoap.Message(payload=self.text)


def udp_port(ctx):
    """The UDP port an aiocoap server context is bound to (also used by aiocoap_edhoc_peer.py)."""
    port = None
    for t in ctx.request_interfaces:
        tr = getattr(t, "token_interface", None)
        mi = getattr(tr, "message_interface", None)
        if mi is not None:
            sock = mi.transport._sock if hasattr(mi.transport, "_sock") else mi.transport.get_extra_info("socket")
            port = sock.getsockname()[1]
    return port


async def server(ctxdir, port=0, multi=False):
    site = resource.Site()
    site.add_resource(["3", "0", "0"], Text(b"aiocoap"))
    site.add_resource(["data", "x"], Data())
    site.add_resource(["5", "0", "0"], Big())
    site.add_resource(["3", "0", "13"], Counter())
    creds = CredentialsMap()
    if multi:
        for sub in sorted(os.listdir(ctxdir)):
            creds[f":client-{sub}"] = FilesystemSecurityContext(os.path.join(ctxdir, sub))
    else:
        creds[":client"] = FilesystemSecurityContext(ctxdir)
    ctx = await aiocoap.Context.create_server_context(
        OscoreSiteWrapper(site, creds), bind=("127.0.0.1", port)
    )
    print(udp_port(ctx), flush=True)
    await asyncio.get_event_loop().create_future()


def show(response):
    print(f"{response.code.dotted} {response.payload.hex()}", flush=True)


async def client(ctxdir, uri, op, args):
    ctx = await aiocoap.Context.create_client_context()
    base = uri.split("/", 3)
    ctx.client_credentials.load_from_dict(
        {f"{base[0]}//{base[2]}/*": {"oscore": {"basedir": ctxdir}}}
    )
    if op == "get":
        show(await ctx.request(aiocoap.Message(code=aiocoap.GET, uri=uri)).response)
    elif op == "put":
        show(await ctx.request(aiocoap.Message(code=aiocoap.PUT, uri=uri, payload=args[0].encode())).response)
    elif op == "post":
        show(await ctx.request(aiocoap.Message(code=aiocoap.POST, uri=uri, payload=args[0].encode())).response)
    elif op == "delete":
        show(await ctx.request(aiocoap.Message(code=aiocoap.DELETE, uri=uri)).response)
    elif op == "bigput":
        payload = bytes(i % 251 for i in range(int(args[0])))
        show(await ctx.request(aiocoap.Message(code=aiocoap.PUT, uri=uri, payload=payload)).response)
    elif op == "observe":
        req = ctx.request(aiocoap.Message(code=aiocoap.GET, uri=uri, observe=0))
        show(await req.response)
        n = int(args[0]) - 1
        async for note in req.observation:
            show(note)
            n -= 1
            if n <= 0:
                req.observation.cancel()
                break
    await ctx.shutdown()


if __name__ == "__main__":
    if sys.argv[1] == "server-multi":
        asyncio.run(server(sys.argv[2], 0, multi=True))
    elif sys.argv[1] == "server":
        asyncio.run(server(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 0))
    else:
        asyncio.run(client(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]))
