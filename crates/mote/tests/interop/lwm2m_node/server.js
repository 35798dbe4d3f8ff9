#!/usr/bin/env node
// An lwm2m-node-lib 1.4.0 LwM2M 1.0 server driven over stdin/stdout, for the interop tests
// (crates/mote/tests/interop_lwm2m_node.rs).
//
//   node server.js [--port N] [--formats pre-standard|library-default] [--accept FORMAT|none]
//
// --port 0 (the default) lets the kernel choose; the first line on stdout is
//   {"event":"listening","port":N}
// Then one JSON object per line for each event:
//   {"event":"registration","endpoint":"…","lifetime":60,"version":"1.0","binding":"U",
//    "objects":"</1/0>,</3/0>","location":"/rd/1"}
//   {"event":"update","endpoint":"…","lifetime":60,"objects":"…"}
//   {"event":"unregistration","endpoint":"…"}
//   {"event":"expiration","endpoint":"…"}          (the library's lifetime check)
//   {"event":"notification","endpoint":"…","path":"/3/0/0","value":"…"}
//   {"event":"fatal","reason":"…"}                  (an uncaught exception; exit status 3)
// Commands, one JSON object per line on stdin (every one answered by one line
// {"id":…,"ok":true,"value":…} or {"id":…,"ok":false,"error":NAME,"message":…,"code":"4.04"}):
//   {"id":1,"op":"read","endpoint":"ep","path":"/3/0/0"}
//   {"id":2,"op":"write","endpoint":"ep","path":"/3303/0/5750","value":"text"}
//   {"id":3,"op":"execute","endpoint":"ep","path":"/3/0/4","value":"args"}   (value optional)
//   {"id":4,"op":"observe","endpoint":"ep","path":"/3303/0/5700"}  (value = the first response)
//   {"id":5,"op":"cancel","endpoint":"ep","path":"/3303/0/5700"}
//   {"id":6,"op":"writeAttributes","endpoint":"ep","path":"/3/0/9","attributes":{"pmin":"1"}}
//   {"id":7,"op":"discover","endpoint":"ep","path":"/3/0"}
//   {"id":8,"op":"create","endpoint":"ep","path":"/3303/1"}
//   {"id":9,"op":"list"}                                            (value = the registrations)
//   {"id":10,"op":"quit"}
// The library's module paths come from MOTE_NODE_MODULES (a node_modules directory), else
// the workspace's target/interop-node/node_modules (where scripts/test.sh installs it).
'use strict';

// Silence the library's dependencies (mongoose: "Accessing non-existent property … inside
// circular dependency") so stderr only carries this program's own failures.
process.removeAllListeners('warning');

const path = require('path');
const readline = require('readline');

const modules = process.env.MOTE_NODE_MODULES ||
    path.join(__dirname, '..', '..', '..', '..', '..', 'target', 'interop-node', 'node_modules');
const lwm2m = require(path.join(modules, 'lwm2m-node-lib'));
const server = lwm2m.server;

function emit(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

// An exception the library does not catch (e.g. node-coap's "No matching format found" for a
// Content-Format number it has no name for) ends the process: say so on stdout, where the
// test reads, then exit non-zero.
process.on('uncaughtException', (error) => {
    emit({ event: 'fatal', reason: String(error && error.stack ? error.stack.split('\n')[0] : error) });
    process.exit(3);
});

function fail(message) {
    process.stderr.write('server.js: ' + message + '\n');
    process.exit(2);
}

const args = process.argv.slice(2);
const opts = { port: 0, formats: 'pre-standard', accept: 'text/plain' };
for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    const value = args[i + 1];
    if (value === undefined) {
        fail('missing value after ' + key);
    }
    if (key === '--port') {
        opts.port = Number(value);
    } else if (key === '--formats') {
        opts.formats = value;
    } else if (key === '--accept') {
        opts.accept = value;
    } else {
        fail('unknown argument ' + key);
    }
}

// The server section of the config.js the package ships (what bin/iotagent-lwm2m-server.js
// runs), except the port. 'pre-standard' keeps its format table (text 1541, TLV 1542, JSON
// 1543, opaque 1544, Write in 1541); 'library-default' drops it, so the library falls back
// to lib/services/OMAContentFormats.json (text 1541 only).
const config = {
    port: opts.port,
    lifetimeCheckInterval: 1000,
    udpWindow: 100,
    defaultType: 'Device',
    logLevel: 'FATAL',
    ipProtocol: 'udp4',
    serverProtocol: 'udp4'
};
if (opts.formats === 'pre-standard') {
    config.formats = [
        { name: 'application-vnd-oma-lwm2m/text', value: 1541 },
        { name: 'application-vnd-oma-lwm2m/tlv', value: 1542 },
        { name: 'application-vnd-oma-lwm2m/json', value: 1543 },
        { name: 'application-vnd-oma-lwm2m/opaque', value: 1544 }
    ];
    config.writeFormat = 'application-vnd-oma-lwm2m/text';
} else if (opts.formats !== 'library-default') {
    fail('--formats is pre-standard or library-default');
}
if (opts.accept !== 'none') {
    config.defaultAcceptFormat = opts.accept;
}

function parsePath(text) {
    const parts = String(text || '').split('/').filter((p) => p !== '');
    if (parts.length === 0 || parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) {
        return null;
    }
    return parts;
}

function errorLine(id, error) {
    return {
        id: id,
        ok: false,
        error: (error && error.name) || 'ERROR',
        message: (error && error.message) || String(error),
        code: (error && error.code) || null
    };
}

function withDevice(cmd, callback) {
    server.getDevice(cmd.endpoint, (error, device) => {
        if (error) {
            emit(errorLine(cmd.id, error));
        } else {
            callback(device);
        }
    });
}

function reply(id) {
    return (error, value) => {
        if (error) {
            emit(errorLine(id, error));
        } else {
            emit({ id: id, ok: true, value: value === undefined ? null : value });
        }
    };
}

function handle(cmd) {
    const id = cmd.id === undefined ? null : cmd.id;
    const op = cmd.op;
    if (op === 'quit') {
        emit({ id: id, ok: true, value: null });
        shutdown();
        return;
    }
    if (op === 'list') {
        server.listDevices((error, devices) => {
            reply(id)(error, (devices || []).map((d) => ({
                endpoint: d.name, id: d.id, lifetime: d.lifetime, address: d.address, port: d.port
            })));
        });
        return;
    }
    const parts = parsePath(cmd.path);
    if (!parts) {
        emit({ id: id, ok: false, error: 'BAD_COMMAND', message: 'path must be /O, /O/I or /O/I/R', code: null });
        return;
    }
    const [o, i, r] = parts;
    const needResource = ['read', 'write', 'execute', 'observe', 'cancel'];
    if (needResource.indexOf(op) >= 0 && parts.length !== 3) {
        emit({ id: id, ok: false, error: 'BAD_COMMAND', message: op + ' takes /O/I/R (the library has no other)', code: null });
        return;
    }
    withDevice(cmd, (device) => {
        const d = device.id;
        switch (op) {
        case 'read':
            server.read(d, o, i, r, reply(id));
            break;
        case 'write':
            server.write(d, o, i, r, String(cmd.value === undefined ? '' : cmd.value), reply(id));
            break;
        case 'execute':
            server.execute(d, o, i, r, cmd.value === undefined ? '' : String(cmd.value), reply(id));
            break;
        case 'observe':
            server.observe(d, o, i, r, (value, objectType, objectId, resourceId) => {
                emit({
                    event: 'notification',
                    endpoint: device.name,
                    path: '/' + objectType + '/' + objectId + '/' + resourceId,
                    value: value
                });
            }, reply(id));
            break;
        case 'cancel':
            try {
                server.cancelObserver(d, o, i, r, reply(id));
            } catch (error) {
                emit(errorLine(id, { name: 'NOT_OBSERVED', message: String(error) }));
            }
            break;
        case 'writeAttributes':
            server.writeAttributes(d, o, i, r, cmd.attributes || {}, reply(id));
            break;
        case 'discover':
            if (parts.length === 3) {
                server.discover(d, o, i, r, reply(id));
            } else if (parts.length === 2) {
                server.discover(d, o, i, reply(id));
            } else {
                server.discover(d, o, reply(id));
            }
            break;
        case 'create':
            if (parts.length !== 2) {
                emit({ id: id, ok: false, error: 'BAD_COMMAND', message: 'create takes /O/I', code: null });
            } else {
                server.create(d, o, i, reply(id));
            }
            break;
        default:
            emit({ id: id, ok: false, error: 'BAD_COMMAND', message: 'unknown op ' + op, code: null });
        }
    });
}

let running = null;
let stopping = false;

function shutdown() {
    if (stopping) {
        return;
    }
    stopping = true;
    if (running) {
        server.stop(running, () => process.exit(0));
    }
    setTimeout(() => process.exit(0), 500);
}

function number(text) {
    const n = Number(text);
    return text === undefined || text === null || Number.isNaN(n) ? (text === undefined ? null : text) : n;
}

server.start(config, (error, serverInfo) => {
    if (error) {
        fail('start: ' + JSON.stringify(error));
    }
    // With --port 0 the kernel chose: the library sends its requests to the device through its
    // own listener as a CoAP proxy (Proxy-Uri to 127.0.0.1:config.port), so the config must
    // learn the real port.
    running = serverInfo;
    const port = serverInfo.server._sock.address().port;
    config.port = port;

    server.setHandler(serverInfo, 'registration', (endpoint, lifetime, version, binding, payload, callback) => {
        server.getDevice(endpoint, (err, device) => {
            emit({
                event: 'registration',
                endpoint: endpoint,
                lifetime: number(lifetime),
                version: version === undefined ? null : version,
                binding: binding === undefined ? null : binding,
                objects: payload,
                location: err ? null : '/rd/' + device.id
            });
            callback();
        });
    });
    server.setHandler(serverInfo, 'updateRegistration', (device, payload, callback) => {
        emit({ event: 'update', endpoint: device.name, lifetime: number(device.lifetime), objects: payload });
        callback();
    });
    server.setHandler(serverInfo, 'unregistration', (device, callback) => {
        emit({ event: 'unregistration', endpoint: device.name });
        callback();
    });
    // setHandler('unregistration') re-arms the lifetime check with an undefined interval (a
    // 1 ms timer) and the unregistration handler; arm it again with one second and report
    // expirations as such.
    server.getRegistry().checkLifetime(1000, (device) => {
        emit({ event: 'expiration', endpoint: device.name });
    });

    emit({ event: 'listening', port: port });

    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
        if (line.trim() === '') {
            return;
        }
        let cmd;
        try {
            cmd = JSON.parse(line);
        } catch (e) {
            emit({ id: null, ok: false, error: 'BAD_COMMAND', message: 'not JSON: ' + line, code: null });
            return;
        }
        try {
            handle(cmd);
        } catch (e) {
            emit(errorLine(cmd.id === undefined ? null : cmd.id, { name: 'EXCEPTION', message: String(e) }));
        }
    });
    rl.on('close', shutdown);
});
