#!/usr/bin/env node
'use strict';

//
// Reference "echo contract" server built on the real Primus 8 server
// (websockets transformer, json parser). The Rust test server implements the
// same contract, so client.js scenarios must pass against both.
//
// Usage: node server.js [--port N] [--ping-interval MS]
//
// stdout carries exactly one line, {"port":<port>}, once listening. Anything
// else (debugging) goes to stderr. The process exits on SIGTERM/SIGINT or
// when its stdin ends, so it never outlives whoever spawned it.
//

const http = require('node:http');
const Primus = require('primus');

function usage(msg) {
  process.stderr.write(`server.js: ${msg}\n`);
  process.stderr.write('usage: node server.js [--port N] [--ping-interval MS] [--transformer NAME] [--parser json|msgpack] [--compression true]\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { port: 0, pingInterval: 30000, transformer: 'websockets' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${arg}`);
      return argv[++i];
    };
    const int = (v) => {
      if (!/^\d+$/.test(v)) usage(`expected a non-negative integer for ${arg}, got ${JSON.stringify(v)}`);
      return Number(v);
    };
    switch (arg) {
      case '--port': opts.port = int(next()); break;
      case '--ping-interval': opts.pingInterval = int(next()); break;
      case '--transformer': opts.transformer = next(); break;
      case '--parser': opts.parser = next(); break;
      case '--compression': opts.compression = next() === 'true'; break;
      case '-h':
      case '--help': usage('help requested'); break;
      default: usage(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (opts.port > 65535) usage('--port must be <= 65535');
  return opts;
}

const debug = process.env.PRIMUS_INTEROP_DEBUG
  ? (...args) => process.stderr.write(`[server] ${args.join(' ')}\n`)
  : () => {};

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    && !Buffer.isBuffer(value);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));

  const server = http.createServer((req, res) => {
    // Only reached for paths outside /primus.
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain');
    res.end('Not Found\n');
  });

  const primus = new Primus(server, {
    transformer: opts.transformer,
    parser: opts.parser || 'json',
    compression: Boolean(opts.compression),
    // 0 disables heartbeats in Primus; keep the value as given.
    pingInterval: opts.pingInterval,
  });

  primus.authorize((req, done) => {
    // Primus passes the raw request; parse its query ourselves.
    const query = new URL(req.url, 'http://localhost').searchParams;
    if (query.get('auth') === 'fail') {
      debug('authorization rejected for', req.url);
      return done({
        statusCode: 401,
        message: 'Authentication required',
        authenticate: 'Basic realm="primus-rs-test"',
      });
    }
    return done();
  });

  primus.on('connection', (spark) => {
    debug('connection', spark.id);

    spark.on('data', (data) => {
      if (isPlainObject(data)) {
        switch (data.cmd) {
          case 'id':
            spark.write({ id: spark.id });
            return;
          case 'end':
            spark.end();
            return;
          case 'end-reconnect':
            spark.end(undefined, { reconnect: true });
            return;
          case 'broadcast':
            primus.write(data.data);
            return;
          default:
            break;
        }
      }
      spark.write(data);
    });

    spark.on('error', (err) => debug('spark error', spark.id, err && err.message));
    spark.on('end', () => debug('end', spark.id));
  });

  // Primus logs internal errors through the `log` event; keep them on stderr.
  primus.on('log', (type, ...rest) => debug('log', type, ...rest.map(String)));

  let shuttingDown = false;
  function shutdown(reason) {
    if (shuttingDown) return;
    shuttingDown = true;
    debug('shutting down:', reason);
    // Do not wait for graceful close of every socket: exit promptly.
    const force = setTimeout(() => process.exit(0), 500);
    force.unref();
    try {
      primus.destroy({ close: true, timeout: 0 }, () => process.exit(0));
    } catch (err) {
      debug('destroy failed', err && err.message);
      process.exit(0);
    }
  }

  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();

  server.on('error', (err) => {
    process.stderr.write(`server.js: ${err.message}\n`);
    process.exit(1);
  });

  server.listen(opts.port, '127.0.0.1', () => {
    const { port } = server.address();
    process.stdout.write(`${JSON.stringify({ port })}\n`);
  });
}

main();
