#!/usr/bin/env node
// An lwm2m-node-lib 1.4.0 LwM2M 1.0 client driven over stdin/stdout, for the interop tests
// (crates/mote/tests/interop_lwm2m_node.rs).
//
//   node client.js --server coap://HOST:PORT --endpoint NAME [--lifetime S] [--lwm2m-version V]
//
// Objects: /3/0 (Device: 0 Manufacturer, 1 Model Number, 2 Serial Number, 3 Firmware Version,
// 4 Reboot, 9 Battery Level, 16 Supported Binding) and /3303/0 (Temperature: 5700 Sensor
// Value, 5701 Sensor Units, 5750 Application Type, which is writable). The library keeps every
// value as a string and lets any resource be written.
//
// Events, one JSON object per line on stdout (the names of `mote lwm2m-client --json`):
//   {"event":"registered","server":URI,"location":"/rd/1","port":LOCAL_UDP_PORT}
//   {"event":"updated","location":"/rd/1"}      {"event":"deregistered"}
//   {"event":"request","method":"GET","path":"/3/0/0","query":null,"observe":null,
//    "content_format":null,"accept":0,"payload":""}   (every request received, options as
//    the numbers on the wire)
//   {"event":"observe","path":"/3303/0/5700"}    (a GET with Observe 0)
//   {"event":"read","path":"/3/0/0","value":"…"}
//   {"event":"write","path":"/3303/0/5750","value":"…"}
//   {"event":"execute","path":"/3/0/4","args":"…"}
//   {"event":"set","path":"/3303/0/5700","value":"…"}  (after a `set` command)
//   {"event":"error","reason":"…"}
//   {"event":"fatal","reason":"…"}     (an uncaught exception; exit status 3)
// Commands, one per line on stdin (those of `mote lwm2m-client`, plus `deregister`):
//   set PATH VALUE     changes a resource as the device would (notifies its observers)
//   update             a Registration Update
//   deregister         a De-register, the process stays
//   quit               de-registers (when registered) and exits 0
// The library's module paths come from MOTE_NODE_MODULES (a node_modules directory), else
// the workspace's target/interop-node/node_modules (where scripts/test.sh installs it).
'use strict';

// Silence the library's dependencies (mongoose: "Accessing non-existent property … inside
// circular dependency") so stderr only carries this program's own failures.
process.removeAllListeners('warning');

const path = require('path');
const readline = require('readline');
const url = require('url');

const modules = process.env.MOTE_NODE_MODULES ||
    path.join(__dirname, '..', '..', '..', '..', '..', 'target', 'interop-node', 'node_modules');
const lwm2m = require(path.join(modules, 'lwm2m-node-lib'));
const client = lwm2m.client;

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
    process.stderr.write('client.js: ' + message + '\n');
    process.exit(2);
}

const args = process.argv.slice(2);
const opts = { server: null, endpoint: null, lifetime: '60', version: '1.0' };
for (let i = 0; i < args.length; i += 2) {
    const key = args[i];
    const value = args[i + 1];
    if (value === undefined) {
        fail('missing value after ' + key);
    }
    if (key === '--server') {
        opts.server = value;
    } else if (key === '--endpoint') {
        opts.endpoint = value;
    } else if (key === '--lifetime') {
        opts.lifetime = value;
    } else if (key === '--lwm2m-version') {
        opts.version = value;
    } else {
        fail('unknown argument ' + key);
    }
}
if (!opts.server || !opts.endpoint) {
    fail('usage: client.js --server coap://HOST:PORT --endpoint NAME [--lifetime S] [--lwm2m-version V]');
}
const serverUri = url.parse(opts.server);
if (serverUri.protocol !== 'coap:' || !serverUri.hostname || !serverUri.port) {
    fail('--server must be coap://HOST:PORT');
}

// The client section of the config.js the package ships, with our lifetime and version.
client.init({
    logLevel: 'FATAL',
    client: {
        lifetime: opts.lifetime,
        version: opts.version,
        logLevel: 'FATAL',
        observe: { period: 3000 },
        ipProtocol: 'udp4',
        serverProtocol: 'udp4',
        formats: [{ name: 'lightweightm2m/text', value: 1541 }],
        writeFormat: 'lightweightm2m/text'
    }
});

const objects = {
    '/3/0': {
        0: 'Mote interop',
        1: 'lwm2m-node-lib',
        2: '0001',
        3: '1.4.0',
        4: '',
        9: '100',
        16: 'U'
    },
    '/3303/0': {
        5700: '21.5',
        5701: 'Cel',
        5750: 'thermometer'
    }
};

let device = null;   // the library's deviceInformation while registered
let busy = false;    // one registration operation at a time
const queue = [];

// node-coap replaces the Content-Format and Accept numbers of a request by the names it
// registered (its own table and the config's `formats`); these are the numbers back.
const formatNumbers = {
    'text/plain': 0,
    'application/link-format': 40,
    'application/xml': 41,
    'application/octet-stream': 42,
    'application/exi': 47,
    'application/json': 50,
    'application/cbor': 60,
    'lightweightm2m/text': 1541
};

// The value of an option of the request as a number (Content-Format, Accept, Observe), null
// when absent.
function option(req, name) {
    for (const o of req.options || []) {
        if (o.name === name) {
            if (Buffer.isBuffer(o.value)) {
                return o.value.reduce((n, byte) => n * 256 + byte, 0);
            }
            if (typeof o.value === 'number') {
                return o.value;
            }
            return o.value in formatNumbers ? formatNumbers[o.value] : String(o.value);
        }
    }
    return null;
}

// The library starts a new CoAP listener (with the default handlers) after the registration
// and again after every update: install ours on whichever is current.
function installHandlers(info) {
    const serverInfo = info.serverInfo;
    serverInfo.server.on('request', (req) => {
        const parsed = url.parse(req.url);
        const observe = option(req, 'Observe');
        emit({
            event: 'request',
            method: req.method,
            path: parsed.pathname,
            query: parsed.query,
            observe: observe,
            content_format: option(req, 'Content-Format'),
            accept: option(req, 'Accept'),
            payload: req.payload.toString('utf8')
        });
        if (req.method === 'GET' && observe === 0) {
            emit({ event: 'observe', path: parsed.pathname });
        }
    });
    client.setHandler(serverInfo, 'read', (objectType, objectId, resourceId, value, callback) => {
        emit({ event: 'read', path: '/' + objectType + '/' + objectId + '/' + resourceId, value: value });
        callback(null, value);
    });
    client.setHandler(serverInfo, 'write', (objectType, objectId, resourceId, value, callback) => {
        emit({ event: 'write', path: '/' + objectType + '/' + objectId + '/' + resourceId, value: value });
        callback(null);
    });
    client.setHandler(serverInfo, 'execute', (objectType, objectId, resourceId, argsText, callback) => {
        emit({ event: 'execute', path: '/' + objectType + '/' + objectId + '/' + resourceId, args: argsText });
        callback(null);
    });
}

function location(info) {
    return '/' + String(info.location).replace(/^\/+/, '');
}

function register(done) {
    client.register(serverUri.hostname, serverUri.port, '', opts.endpoint, (error, info) => {
        if (error) {
            emit({ event: 'error', reason: 'registration: ' + (error.message || error.name || String(error)) });
        } else {
            device = info;
            installHandlers(info);
            emit({ event: 'registered', server: opts.server, location: location(info), port: info.localPort });
        }
        done();
    });
}

function update(done) {
    if (!device) {
        emit({ event: 'error', reason: 'update: not registered' });
        done();
        return;
    }
    client.update(device, (error, info) => {
        if (error) {
            emit({ event: 'error', reason: 'update: ' + (error.message || error.name || String(error)) });
        } else {
            device = info;
            installHandlers(info);
            emit({ event: 'updated', location: location(info) });
        }
        done();
    });
}

function deregister(done) {
    if (!device) {
        emit({ event: 'error', reason: 'deregister: not registered' });
        done();
        return;
    }
    client.unregister(device, (error) => {
        if (error) {
            emit({ event: 'error', reason: 'deregister: ' + (error.message || error.name || String(error)) });
        } else {
            emit({ event: 'deregistered' });
        }
        device = null;
        done();
    });
}

function set(target, value, done) {
    const m = /^(\/\d+\/\d+)\/(\d+)$/.exec(target || '');
    if (!m) {
        emit({ event: 'error', reason: 'set: PATH must be /O/I/R' });
        done();
        return;
    }
    client.registry.setResource(m[1], m[2], value, (error) => {
        if (error) {
            emit({ event: 'error', path: target, reason: 'set: ' + (error.message || error.name) });
        } else {
            emit({ event: 'set', path: target, value: value });
        }
        done();
    });
}

function run(line, done) {
    const trimmed = line.trim();
    const space = trimmed.indexOf(' ');
    const word = space < 0 ? trimmed : trimmed.substring(0, space);
    const rest = space < 0 ? '' : trimmed.substring(space + 1);
    if (word === '') {
        done();
    } else if (word === 'set') {
        const at = rest.indexOf(' ');
        set(at < 0 ? rest : rest.substring(0, at), at < 0 ? '' : rest.substring(at + 1), done);
    } else if (word === 'update') {
        update(done);
    } else if (word === 'deregister') {
        deregister(done);
    } else if (word === 'quit') {
        const exit = () => process.exit(0);
        if (device) {
            deregister(exit);
        } else {
            exit();
        }
        setTimeout(exit, 2000);
    } else {
        emit({ event: 'error', reason: 'unknown command ' + word });
        done();
    }
}

function next() {
    if (busy || queue.length === 0) {
        return;
    }
    busy = true;
    run(queue.shift(), () => {
        busy = false;
        next();
    });
}

function create(uris, done) {
    if (uris.length === 0) {
        done();
        return;
    }
    const uri = uris[0];
    client.registry.create(uri, (error) => {
        if (error) {
            fail('create ' + uri + ': ' + error.message);
        }
        const ids = Object.keys(objects[uri]);
        const setAll = (k) => {
            if (k === ids.length) {
                create(uris.slice(1), done);
                return;
            }
            client.registry.setResource(uri, ids[k], objects[uri][ids[k]], (err) => {
                if (err) {
                    fail('set ' + uri + '/' + ids[k] + ': ' + err.message);
                }
                setAll(k + 1);
            });
        };
        setAll(0);
    });
}

create(Object.keys(objects), () => {
    busy = true;
    register(() => {
        busy = false;
        next();
    });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
        queue.push(line);
        next();
    });
    rl.on('close', () => {
        queue.push('quit');
        next();
    });
});
