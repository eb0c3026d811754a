#!/usr/bin/env node
'use strict';

//
// The Node.js Primus 8 server under test (json parser; the `websockets`
// transformer unless `--transformer engine.io|sockjs` picks another): what a
// user would otherwise deploy. It follows the bench servers'
// contract (bench/README.md):
//
// - listens on 127.0.0.1 (port 0 = a free one), Primus at /primus;
// - prints exactly one line to stdout once listening: {"port":<port>};
// - every message from a spark is echoed back with `spark.write(data)`,
//   except on a spark opened with `?bench=trigger`, whose messages are
//   broadcast to every spark with `primus.write(data)`;
// - exits when its stdin ends (so it never outlives the suite) or on SIGTERM.
//
// Usage: node server.js [--port N] [--ping-interval MS] [--transformer NAME] [--compression]
//

const http = require('node:http');
const Primus = require('primus');

function parseArgs(argv) {
  const opts = { port: 0, pingInterval: 30000, transformer: 'websockets', compression: false };
  const transformers = ['websockets', 'engine.io', 'sockjs', 'browserchannel'];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--transformer') {
      opts.transformer = argv[++i];
      if (!transformers.includes(opts.transformer)) {
        process.stderr.write(`server.js: --transformer must be one of ${transformers.join(', ')}\n`);
        process.exit(2);
      }
      continue;
    }
    if (argv[i] === '--compression') {
      opts.compression = true;
      continue;
    }
    const value = Number(argv[i + 1]);
    switch (argv[i]) {
      case '--port': opts.port = value; i++; break;
      case '--ping-interval': opts.pingInterval = value; i++; break;
      default:
        process.stderr.write(`server.js: unknown argument ${JSON.stringify(argv[i])}\n`);
        process.exit(2);
    }
    if (!Number.isInteger(value) || value < 0) {
      process.stderr.write(`server.js: expected a non-negative integer after ${argv[i - 1]}\n`);
      process.exit(2);
    }
  }
  return opts;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const server = http.createServer((req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const primus = new Primus(server, {
    transformer: opts.transformer,
    parser: 'json',
    pingInterval: opts.pingInterval,
    compression: opts.compression,
  });

  primus.on('connection', (spark) => {
    if (spark.query && spark.query.bench === 'trigger') {
      spark.on('data', (data) => primus.write(data));
    } else {
      spark.on('data', (data) => spark.write(data));
    }
    // The load generator resets connections when a scenario ends.
    spark.on('error', () => {});
  });
  primus.on('error', () => {});

  const exit = () => process.exit(0);
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  process.stdin.on('end', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();

  server.on('error', (err) => {
    process.stderr.write(`server.js: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(opts.port, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
}

main();
