#!/usr/bin/env node
'use strict';

//
// Node.js Socket.IO 4.8, the reference of the cluster benchmark: one node of
// a Socket.IO cluster on Redis (`@socket.io/redis-adapter`, node-redis 4),
// or a single node without `--redis`. It follows the bench servers'
// contract (bench/README.md), spoken in Socket.IO:
//
// - listens on 127.0.0.1 (port 0 = a free one), Socket.IO at /socket.io/,
//   WebSocket transport only (`transports: ['websocket']`);
// - prints exactly one line to stdout once listening (and, with --redis,
//   once both Redis clients are connected): {"port":<port>};
// - a `broadcast` event (`42["broadcast",data]`) is sent to every socket of
//   every node as `42["b",data]` with `io.emit('b', data)`;
// - exits when its stdin ends (so it never outlives the suite) or on SIGTERM.
//
// Usage: node socketio-server.js [--port N] [--redis redis://127.0.0.1:PORT/]
//

const http = require('node:http');
const { Server } = require('socket.io');

function parseArgs(argv) {
  const opts = { port: 0, redis: null };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--port': opts.port = Number(argv[++i]); break;
      case '--redis': opts.redis = argv[++i]; break;
      default:
        process.stderr.write(`socketio-server.js: unknown argument ${JSON.stringify(argv[i])}\n`);
        process.exit(2);
    }
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const server = http.createServer();
  const io = new Server(server, {
    transports: ['websocket'],
    serveClient: false,
    // No Engine.IO pings during a run (a run lasts well under 10 minutes):
    // the load generator speaks only the handshake and events.
    pingInterval: 600000,
    pingTimeout: 600000,
  });
  if (opts.redis) {
    const { createClient } = require('redis');
    const { createAdapter } = require('@socket.io/redis-adapter');
    const pub = createClient({ url: opts.redis });
    const sub = pub.duplicate();
    for (const client of [pub, sub]) {
      client.on('error', (err) => process.stderr.write(`socketio-server.js: redis: ${err.message}\n`));
    }
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
  }
  io.on('connection', (socket) => {
    socket.on('broadcast', (data) => io.emit('b', data));
  });
  server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
  const stop = () => process.exit(0);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`socketio-server.js: ${err.stack || err}\n`);
  process.exit(1);
});
