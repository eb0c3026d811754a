#!/usr/bin/env node
'use strict';

//
// The REAL npm `primus-emitter@3.1.1` plugin, loaded into the REAL Primus 8
// Node client, against a server under test (tests/tests/emitter_compat.rs):
// events with and without acknowledgements, several arguments, a failing
// request, an unknown event, typed events from the server, plain data.
//
// Usage: node emitter-client.js --url http://127.0.0.1:PORT
// Prints one JSON line with what it observed; exit 0 when it finished,
// 1 on a timeout or an error (the Rust test checks the values).
//

const Primus = require('primus');
const emitter = require('primus-emitter');

const at = process.argv.indexOf('--url');
const url = at >= 0 ? process.argv[at + 1] : null;
if (!url) {
  process.stderr.write('usage: node emitter-client.js --url http://127.0.0.1:PORT\n');
  process.exit(2);
}

const Socket = Primus.createSocket({ transformer: 'websockets', parser: 'json', plugin: { emitter } });

function within(ms, what, promise) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
  ]);
}

async function main() {
  const client = new Socket(url, { strategy: false });
  const news = [];
  const data = [];
  const errors = [];
  client.on('news', (payload) => news.push(payload));
  client.on('data', (value) => data.push(value));
  client.on('error', (error) => errors.push(String(error && error.message)));
  await within(5000, 'open', new Promise((resolve) => client.once('open', resolve)));

  const ack = (name, ...args) => within(5000, `the acknowledgement of ${name}`,
    new Promise((resolve) => client.send(name, ...args, (...reply) => resolve(reply))));

  client.send('hello', 'ada');
  const added = await ack('add', { a: 2, b: 3 });
  client.send('move', 1, 2);
  const failed = await ack('fail');
  const unknown = await ack('nobody_handles_this');
  client.write({ plain: true });
  await within(5000, 'two news and the plain echo', (async () => {
    while (news.length < 2 || !data.some((d) => d && d.plain === true)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })());
  client.end();
  return { ok: true, added, failed, unknown, news, plain: data.filter((d) => d && d.plain), errors };
}

main().then(
  (summary) => {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`emitter-client: ${error.stack || error}\n`);
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error.message) })}\n`);
    process.exit(1);
  },
);
