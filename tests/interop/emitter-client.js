#!/usr/bin/env node
'use strict';

//
// The REAL npm `primus-emitter@3.1.1` plugin, loaded into the REAL Primus 8
// Node client, against a server under test (tests/tests/emitter_compat.rs):
// events with and without acknowledgements, several arguments, a failing
// request, an unknown event, typed events from the server, plain data, and
// the server's own requests answered through acknowledgement callbacks.
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
  // The server's requests: the last argument is the acknowledgement.
  const asked = [];
  client.on('confirm', (text, fn) => {
    asked.push(text);
    // While the server's request waits: an acknowledgement of a number
    // the server never issued is plain data, not a reply.
    client.write({ id: 5, type: 1, data: ['stray'] });
    fn(text === 'delete the room?');
  });
  client.on('refuse', (fn) => fn({ error: 'not today' }));
  client.on('pair', (fn) => fn(1, 'b'));
  await within(5000, 'open', new Promise((resolve) => client.once('open', resolve)));

  const ack = (name, ...args) => within(5000, `the acknowledgement of ${name}`,
    new Promise((resolve) => client.send(name, ...args, (...reply) => resolve(reply))));

  client.send('hello', 'ada');
  const added = await ack('add', { a: 2, b: 3 });
  client.send('move', 1, 2);
  const failed = await ack('fail');
  const unknown = await ack('nobody_handles_this');
  client.write({ plain: true });
  client.send('ask');
  // (Every packet is also a `data` event: the acknowledgements 1-3 too.)
  const isPlain = (d) => d && (d.plain === true || (d.type === 1 && d.id === 5));
  await within(5000, 'three news and the plain echoes', (async () => {
    while (news.length < 3 || data.filter(isPlain).length < 2) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })());
  client.end();
  const plain = data.filter(isPlain);
  return { ok: true, added, failed, unknown, news, asked, plain, errors };
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
