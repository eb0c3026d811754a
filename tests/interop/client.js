#!/usr/bin/env node
'use strict';

//
// Scenario runner that drives the REAL Primus 8 Node client
// (Primus.createSocket({transformer: 'websockets', parser: 'json'})) against a
// server implementing the echo contract (server.js here, or the Rust test
// server).
//
// Usage:
//   node client.js --url http://127.0.0.1:PORT --scenario NAME
//                  [--ping-interval MS] [--timeout MS]
//
// On success: one JSON line on stdout ({"scenario":..,"ok":true,...}), exit 0.
// On failure: a clear message on stderr, one JSON line on stdout with
// "ok":false and what was observed so far, exit 1. Exit 2 is a usage error,
// exit 3 means the scenario passed but the process did not exit by itself
// afterwards (some handle, e.g. a socket, was left open).
//

const assert = require('node:assert/strict');
const { performance } = require('node:perf_hooks');
const Primus = require('primus');

// --transformer NAME picks the client's transformer (default websockets);
// --transports a,b forces SockJS transports (`transport: {transports}`),
// --websockets false sets Primus' `websockets: false` (engine.io polling).
// Read before the Socket is made, so every scenario uses them.
function flag(name) {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
const TRANSFORMER = flag('--transformer') || 'websockets';
const TRANSPORTS = flag('--transports') ? flag('--transports').split(',') : null;
const WEBSOCKETS = flag('--websockets') !== 'false';
// --parser NAME (default json): `msgpack` needs npm primus-msgpack.
const PARSER = flag('--parser') || 'json';
const Socket = Primus.createSocket({ transformer: TRANSFORMER, parser: PARSER });


const DEFAULT_TIMEOUT = 15000;
const LEAK_GRACE = 3000;

// Events recorded on every client (besides `data`, which is collected
// separately). `incoming::ping` is counted, not logged one by one.
const TRACKED_EVENTS = [
  'open', 'error', 'end', 'close', 'timeout', 'offline', 'online',
  'reconnect scheduled', 'reconnect', 'reconnected', 'reconnect timeout',
  'reconnect failed', 'incoming::ping', 'incoming::id',
];

// ---------------------------------------------------------------------------
// Command line

function usage(msg) {
  process.stderr.write(`client.js: ${msg}\n`);
  process.stderr.write('usage: node client.js --url http://127.0.0.1:PORT --scenario NAME '
    + '[--ping-interval MS] [--timeout MS]\n');
  process.stderr.write(`scenarios: ${Object.keys(SCENARIOS).join(', ')}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, scenario: null, pingInterval: null, timeout: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${arg}`);
      return argv[++i];
    };
    const int = (v) => {
      if (!/^\d+$/.test(v) || Number(v) <= 0) {
        usage(`expected a positive integer for ${arg}, got ${JSON.stringify(v)}`);
      }
      return Number(v);
    };
    switch (arg) {
      case '--url': opts.url = next(); break;
      case '--scenario': opts.scenario = next(); break;
      case '--ping-interval': opts.pingInterval = int(next()); break;
      case '--timeout': opts.timeout = int(next()); break;
      case '--transformer': next(); break;
      case '--transports': next(); break;
      case '--websockets': next(); break;
      case '--parser': next(); break;
      case '-h':
      case '--help': usage('help requested'); break;
      default: usage(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (!opts.url) usage('--url is required');
  if (!opts.scenario) usage('--scenario is required');
  if (!Object.prototype.hasOwnProperty.call(SCENARIOS, opts.scenario)) {
    usage(`unknown scenario ${JSON.stringify(opts.scenario)}`);
  }
  try {
    new URL(opts.url); // eslint-disable-line no-new
  } catch (e) {
    usage(`invalid --url ${JSON.stringify(opts.url)}: ${e.message}`);
  }
  return opts;
}

// ---------------------------------------------------------------------------
// Helpers

const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const clients = [];

// Failure hook used by event handlers: they must not throw inside Primus'
// emit (that would surface as an uncaught exception from the ws stack), so
// they record the problem here and the scenario's waits pick it up.
let asyncFailure = null;
const failureWaiters = new Set();
function failSoon(err) {
  if (asyncFailure) return;
  asyncFailure = err;
  for (const reject of failureWaiters) reject(err);
  failureWaiters.clear();
}

/**
 * Create a Primus client, record its lifecycle events and collect the data
 * it receives. `label` names it in the summary.
 */
function connect(label, url, options = {}, { errorsAreFatal = true } = {}) {
  if (TRANSPORTS) {
    options = { ...options, transport: { ...(options.transport || {}), transports: TRANSPORTS } };
  }
  if (!WEBSOCKETS) {
    options = { ...options, websockets: false };
  }
  const client = new Socket(url, options);
  const rec = { label, events: [], data: [], pings: [], errors: [], client };
  clients.push(rec);

  for (const name of TRACKED_EVENTS) {
    client.on(name, (...args) => {
      if (name === 'incoming::ping') {
        rec.pings.push({ t: now(), ts: args[0] });
        return;
      }
      const entry = { t: now(), event: name };
      if (name === 'error' || name === 'reconnect timeout' || name === 'reconnect failed') {
        const err = args[0];
        entry.message = err && err.message !== undefined ? err.message : String(err);
        // engine.io-client's TransportError carries the HTTP status.
        if (err && typeof err.description === 'number') entry.message += ` (status ${err.description})`;
        rec.errors.push(entry.message);
        // BrowserChannel's client reports the server's `["stop"]` (what
        // `spark.end()` sends) as an error, with Node Primus too: that one
        // is how the channel ends, not a failure.
        const stopped = TRANSFORMER === 'browserchannel' && entry.message === 'Stopped by server';
        if (name === 'error' && errorsAreFatal && !stopped) {
          failSoon(new Error(`client ${label} emitted error: ${entry.message}`));
        }
      } else if (name === 'reconnect scheduled' || name === 'reconnected') {
        const o = args[0] || {};
        entry.attempt = o.attempt;
        entry.scheduled = o.scheduled;
      } else if (name === 'incoming::id') {
        entry.id = args[0];
      }
      rec.events.push(entry);
    });
  }

  client.on('data', (data) => {
    rec.data.push(toLocalRealm(data));
  });

  return rec;
}

/**
 * Primus.createSocket() evaluates the client library with
 * vm.runInNewContext(), so the JSON parser decoding incoming messages is that
 * context's JSON: decoded objects and arrays have the other realm's
 * Object.prototype / Array.prototype, and assert.deepStrictEqual() rejects
 * them ("same structure but not reference-equal"). Copy decoded values into
 * this realm, keeping primitives and Buffers as they are.
 */
function toLocalRealm(value) {
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  // Dates and byte arrays of the EJSON parser (made in the client's realm).
  if (Object.prototype.toString.call(value) === '[object Date]') return new Date(value.getTime());
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice();
  if (Array.isArray(value)) {
    // Not value.map(): that would build the result with the foreign Array.
    const arr = [];
    for (let i = 0; i < value.length; i++) arr.push(toLocalRealm(value[i]));
    return arr;
  }
  const out = {};
  for (const key of Object.keys(value)) out[key] = toLocalRealm(value[key]);
  return out;
}

function eventNames(rec) {
  return rec.events.map((e) => e.event);
}

function countEvents(rec, name) {
  return rec.events.filter((e) => e.event === name).length;
}

/**
 * Resolve once `predicate()` is truthy (checked every few ms), reject after
 * `ms` with a message built from `what`, or as soon as an event handler
 * reported a fatal problem.
 */
function waitUntil(predicate, ms, what) {
  return new Promise((resolve, reject) => {
    if (asyncFailure) return reject(asyncFailure);
    let poll = null;
    let timer = null;
    const done = (fn, value) => {
      clearInterval(poll);
      clearTimeout(timer);
      failureWaiters.delete(onFailure);
      fn(value);
    };
    const onFailure = (err) => done(reject, err);
    const check = () => {
      let value;
      try {
        value = predicate();
      } catch (err) {
        done(reject, err);
        return true;
      }
      if (value) {
        done(resolve, value);
        return true;
      }
      return false;
    };
    if (check()) return undefined;
    failureWaiters.add(onFailure);
    poll = setInterval(check, 5);
    timer = setTimeout(() => {
      const desc = typeof what === 'function' ? what() : what;
      done(reject, new Error(`timed out after ${ms} ms waiting for ${desc}`));
    }, ms);
    return undefined;
  });
}

/** Wait `ms`, but still bail out early on a fatal event-handler failure. */
function hold(ms) {
  return waitUntil(() => false, ms, '').catch((err) => {
    if (/^timed out after/.test(err.message)) return undefined;
    throw err;
  });
}

function waitForEvent(rec, name, ms, { count = 1 } = {}) {
  return waitUntil(() => countEvents(rec, name) >= count, ms,
    () => `${count > 1 ? `${count}x ` : ''}'${name}' on client ${rec.label} `
      + `(events so far: ${JSON.stringify(eventNames(rec))})`);
}

function waitForData(rec, n, ms) {
  return waitUntil(() => rec.data.length >= n, ms,
    () => `${n} data message(s) on client ${rec.label} (received ${rec.data.length})`);
}

/** Short, JSON-safe description of a value for summaries. */
function describe(value) {
  if (typeof value === 'string') {
    return value.length > 64 ? `string(${value.length})` : value;
  }
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 64 ? `${Array.isArray(value) ? 'array' : typeof value}(${json.length} json chars)` : value;
}

// ---------------------------------------------------------------------------
// Scenarios. Each gets (opts) and returns an object merged into the summary.

const SCENARIOS = {
  /** engine.io: the upgrade to WebSocket completes soon after open. */
  async upgrade(opts) {
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    const started = now();
    const name = () => a.client.socket && a.client.socket.transport && a.client.socket.transport.name;
    while (name() !== 'websocket' && now() - started < 3000) await sleep(20);
    assert.equal(name(), 'websocket', 'the engine.io upgrade did not complete within 3 s');
    a.client.write('after the upgrade');
    await waitForData(a, 1, 5000);
    assert.deepStrictEqual(a.data[0], 'after the upgrade');
    return { transport: name(), upgradedAfterMs: now() - started };
  },

  async open(opts) {
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    const opened = a.events.find((e) => e.event === 'open');
    return { openAfterMs: opened.t };
  },

  async echo(opts) {
    const messages = [
      'hello',
      42,
      { a: 1, b: [true, null], c: { d: 'e' } },
      [[1, [2, [3, [4]]]], 'x', []],
      'héllo 世界 🚀 \u2028 end',
      'x'.repeat(1024 * 1024),
    ];
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    for (const m of messages) a.client.write(m);
    await waitForData(a, messages.length, 10000);
    // Give a moment for any unexpected extra message to show up.
    await hold(100);
    assert.equal(a.data.length, messages.length,
      `expected exactly ${messages.length} echoes, got ${a.data.length}`);
    messages.forEach((m, i) => {
      assert.deepStrictEqual(a.data[i], m,
        `echo #${i} differs: sent ${JSON.stringify(describe(m))}, `
        + `got ${JSON.stringify(describe(a.data[i]))}`);
    });
    return { echoed: a.data.map(describe) };
  },

  /**
   * A 64 KiB repetitive string each way (compression: the test counts the
   * bytes on the wire); reports the extensions the ws socket negotiated.
   */
  async compression(opts) {
    const text = 'primus-rs compresses this line. '.repeat(2048);
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    a.client.write(text);
    await waitForData(a, 1, 10000);
    assert.equal(a.data[0], text, 'the 64 KiB echo differs');
    const extensions = a.client.socket && a.client.socket.extensions;
    return { length: text.length, extensions: typeof extensions === 'string' ? extensions : '' };
  },

  /**
   * The EJSON parser (--parser ejson): dates, byte arrays, non-finite
   * numbers and an object that looks like a date come back as they were
   * sent; the server reads a date (`{later: date}` is answered with the
   * date one second on).
   */
  async ejson(opts) {
    const messages = [
      {
        when: new Date(1700000000123),
        bytes: new Uint8Array([0, 1, 2, 250, 255]),
        numbers: [Infinity, -Infinity, NaN, 1.5],
        looksLikeADate: { $date: 1 },
        nested: { deep: [new Date(0)] },
      },
      'plain',
      42,
      [1, 'a', null, { b: true }],
    ];
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    for (const m of messages) a.client.write(m);
    a.client.write({ later: new Date(1700000000123) });
    await waitForData(a, messages.length + 1, 10000);
    await hold(100);
    assert.equal(a.data.length, messages.length + 1, `expected ${messages.length + 1} messages, got ${a.data.length}`);
    messages.forEach((m, i) => assert.deepStrictEqual(a.data[i], m, `echo #${i} differs`));
    const first = a.data[0];
    assert.ok(first.when instanceof Date, 'the date came back as a Date');
    assert.ok(first.bytes instanceof Uint8Array, 'the bytes came back as a Uint8Array');
    assert.ok(!(first.looksLikeADate instanceof Date), 'the escaped object stayed an object');
    const answer = a.data[messages.length];
    assert.ok(answer.later instanceof Date, 'the server answered with a Date');
    assert.equal(answer.later.getTime(), 1700000000123 + 1000);
    return { later: answer.later.toISOString() };
  },

  /**
   * The binary parser (--parser binary): strings, numbers, nested objects,
   * arrays and Buffers come back as they were sent; the server reads a
   * Buffer (`{double: buffer}` is answered with `{doubled: each byte × 2}`).
   */
  async binary(opts) {
    const messages = [
      'hello',
      'é'.repeat(40),
      42, -5, 300, -70000, 4000000000, 1.5, -0.25,
      true, null,
      { a: 1, b: [true, null], c: { d: 'e' } },
      [[1, [2, [3, [4]]]], 'x', []],
      Buffer.from([0, 1, 2, 250, 255]),
      { file: Buffer.alloc(300, 7), name: 'f' },
      'x'.repeat(100 * 1024),
    ];
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    for (const m of messages) a.client.write(m);
    a.client.write({ double: Buffer.from([1, 2, 3]) });
    await waitForData(a, messages.length + 1, 10000);
    await hold(100);
    assert.equal(a.data.length, messages.length + 1, `expected ${messages.length + 1} messages, got ${a.data.length}`);
    messages.forEach((m, i) => assert.deepStrictEqual(Buffer.isBuffer(m) ? Buffer.from(a.data[i]) : a.data[i], m, `echo #${i} differs`));
    const answer = a.data[messages.length];
    assert.deepStrictEqual([...answer.doubled], [2, 4, 6], 'the server read the Buffer');
    return { echoed: messages.length };
  },

  async order(opts) {
    const N = 1000;
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    for (let i = 0; i < N; i++) a.client.write({ seq: i });
    await waitForData(a, N, 10000);
    await hold(100);
    assert.equal(a.data.length, N, `expected exactly ${N} echoes, got ${a.data.length}`);
    for (let i = 0; i < N; i++) {
      assert.deepStrictEqual(a.data[i], { seq: i },
        `message #${i} out of order or altered: got ${JSON.stringify(a.data[i])}`);
    }
    return { sent: N, received: a.data.length, inOrder: true };
  },

  async queued(opts) {
    const a = connect('a', opts.url);
    const stateAtWrite = a.client.readyState;
    // Written before the connection exists: must be buffered and flushed in
    // order once it opens.
    a.client.write('queued-1');
    a.client.write('queued-2');
    assert.notEqual(stateAtWrite, Socket.OPEN, 'client was already open at construction time');
    await waitForEvent(a, 'open', 5000);
    await waitForData(a, 2, 5000);
    assert.deepStrictEqual(a.data.slice(0, 2), ['queued-1', 'queued-2'],
      `first two data events were ${JSON.stringify(a.data.slice(0, 2))}`);
    return { readyStateAtWrite: stateAtWrite, firstTwo: a.data.slice(0, 2) };
  },

  async id(opts) {
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    let cbId;
    let cbCalls = 0;
    a.client.id((id) => { cbCalls += 1; cbId = id; });
    a.client.write({ cmd: 'id' });
    await waitUntil(() => cbCalls > 0, 5000, 'the primus.id() callback');
    await waitForData(a, 1, 5000);
    const reply = a.data[0];
    assert.ok(reply !== null && typeof reply === 'object' && !Array.isArray(reply),
      `reply to {cmd:"id"} is not an object: ${JSON.stringify(reply)}`);
    assert.equal(typeof cbId, 'string', `primus.id() gave a ${typeof cbId}`);
    assert.ok(cbId.length > 0, 'primus.id() gave an empty string');
    assert.equal(cbId, reply.id,
      `primus.id() gave ${JSON.stringify(cbId)} but the server reported ${JSON.stringify(reply.id)}`);
    return { id: cbId, idLength: cbId.length };
  },

  async heartbeat(opts) {
    if (!opts.pingInterval) {
      throw new Error('the heartbeat scenario needs --ping-interval MS (the server\'s pingInterval)');
    }
    const P = opts.pingInterval;
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    const stayMs = Math.round(3.5 * P);
    const bad = ['close', 'end', 'reconnect scheduled', 'reconnect', 'offline'];
    await hold(stayMs);
    const badSeen = a.events.filter((e) => bad.includes(e.event));
    assert.deepStrictEqual(badSeen, [],
      `connection was disturbed during the heartbeat window: ${JSON.stringify(badSeen)}`);
    assert.ok(a.pings.length >= 3,
      `expected >= 3 pings in ${stayMs} ms (pingInterval ${P}), got ${a.pings.length}`);
    for (const p of a.pings) {
      assert.ok(Number.isFinite(p.ts) && p.ts > 0,
        `ping carried a non-numeric timestamp: ${JSON.stringify(p.ts)}`);
    }
    const probe = { heartbeat: 'still-alive', pings: a.pings.length };
    a.client.write(probe);
    await waitForData(a, 1, 5000);
    assert.deepStrictEqual(a.data[0], probe, `echo after heartbeats got ${JSON.stringify(a.data[0])}`);
    const gaps = a.pings.slice(1).map((p, i) => p.t - a.pings[i].t);
    return {
      pingInterval: P,
      windowMs: stayMs,
      pings: a.pings.length,
      firstPingAfterOpenMs: a.pings[0].t - a.events.find((e) => e.event === 'open').t,
      gapsMs: gaps,
    };
  },

  async end(opts) {
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    a.client.write({ cmd: 'end' });
    await waitForEvent(a, 'end', 5000);
    await hold(1000);
    const reconnects = a.events.filter((e) => e.event === 'reconnect scheduled' || e.event === 'reconnect');
    assert.deepStrictEqual(reconnects, [], `client tried to reconnect after a server end: ${JSON.stringify(reconnects)}`);
    assert.equal(countEvents(a, 'end'), 1, 'end emitted more than once');
    assert.equal(a.data.length, 0, `unexpected data: ${JSON.stringify(a.data.map(describe))}`);
    return {};
  },

  'end-reconnect': async function endReconnect(opts) {
    const a = connect('a', opts.url, { reconnect: { min: 100, retries: 5 } });
    await waitForEvent(a, 'open', 5000);
    a.client.write({ cmd: 'id' });
    await waitForData(a, 1, 5000);
    const firstId = a.data[0] && a.data[0].id;
    assert.ok(typeof firstId === 'string' && firstId.length > 0,
      `bad reply to {cmd:"id"}: ${JSON.stringify(a.data[0])}`);

    a.client.write({ cmd: 'end-reconnect' });
    await waitForEvent(a, 'open', 5000, { count: 2 });
    const names = eventNames(a);
    const iScheduled = names.indexOf('reconnect scheduled');
    const iReconnected = names.indexOf('reconnected');
    const iOpen2 = names.indexOf('open', names.indexOf('open') + 1);
    assert.ok(iScheduled !== -1, `no 'reconnect scheduled' (events: ${JSON.stringify(names)})`);
    assert.ok(iReconnected !== -1, `no 'reconnected' (events: ${JSON.stringify(names)})`);
    assert.ok(iScheduled < iReconnected && iReconnected < iOpen2,
      `events out of order: ${JSON.stringify(names)}`);
    assert.equal(countEvents(a, 'end'), 0, `'end' emitted although the server asked for a reconnect`);

    a.client.write({ cmd: 'id' });
    await waitForData(a, 2, 5000);
    const secondId = a.data[1] && a.data[1].id;
    assert.ok(typeof secondId === 'string' && secondId.length > 0,
      `bad reply to {cmd:"id"} after reconnect: ${JSON.stringify(a.data[1])}`);
    assert.notEqual(secondId, firstId, 'reconnected connection has the same spark id as the first one');

    const probe = { after: 'reconnect', list: [1, 2, 3] };
    a.client.write(probe);
    await waitForData(a, 3, 5000);
    assert.deepStrictEqual(a.data[2], probe, `echo after reconnect got ${JSON.stringify(a.data[2])}`);
    const sched = a.events[iScheduled];
    return {
      firstId,
      secondId,
      reconnectScheduledMs: sched.scheduled,
      reconnectAttempt: sched.attempt,
    };
  },

  'auth-fail': async function authFail(opts) {
    const u = new URL(opts.url);
    u.searchParams.set('auth', 'fail');
    const a = connect('a', u.toString(), { strategy: false }, { errorsAreFatal: false });
    await hold(1500);
    assert.equal(countEvents(a, 'open'), 0, 'open fired although authorization should fail');
    assert.ok(countEvents(a, 'error') + countEvents(a, 'end') > 0,
      `neither 'error' nor 'end' observed (events: ${JSON.stringify(eventNames(a))})`);
    assert.equal(countEvents(a, 'reconnect scheduled'), 0, 'client retried despite strategy:false');
    return { url: u.toString(), errors: a.errors };
  },

  async broadcast(opts) {
    const a = connect('a', opts.url);
    const b = connect('b', opts.url);
    await Promise.all([waitForEvent(a, 'open', 5000), waitForEvent(b, 'open', 5000)]);
    const payload = { hello: 'all' };
    a.client.write({ cmd: 'broadcast', data: payload });
    await Promise.all([waitForData(a, 1, 5000), waitForData(b, 1, 5000)]);
    assert.deepStrictEqual(a.data[0], payload, `sender got ${JSON.stringify(a.data[0])}`);
    assert.deepStrictEqual(b.data[0], payload, `other client got ${JSON.stringify(b.data[0])}`);
    return { a: a.data[0], b: b.data[0] };
  },

  /**
   * The chat example (not the echo contract): join as `node-one`, say
   * `hello from node one`, and wait for the chat's own `message` event
   * coming back. Another client (on another node of a cluster) checks
   * that it got both.
   */
  async 'chat-say'(opts) {
    const a = connect('a', opts.url);
    await waitForEvent(a, 'open', 5000);
    const seen = async (what, predicate) => {
      const started = now();
      while (!a.data.some(predicate)) {
        if (now() - started > 5000) {
          throw new Error(`no ${what} within 5 s; got ${JSON.stringify(a.data)}`);
        }
        await sleep(10);
      }
    };
    a.client.write({ event: 'join', data: { name: 'node-one' }, request: 1 });
    await seen('reply to the join', (m) => m && m.reply === 1);
    a.client.write({ event: 'say', data: 'hello from node one' });
    await seen('message event', (m) => m && m.event === 'message'
      && m.data.from === 'node-one' && m.data.text === 'hello from node one');
    return { received: a.data };
  },
};

// ---------------------------------------------------------------------------
// Runner

function destroyClients() {
  for (const rec of clients) {
    try {
      rec.client.destroy();
    } catch (err) {
      process.stderr.write(`client.js: destroying client ${rec.label} threw: ${err.message}\n`);
    }
  }
}

function observed() {
  return clients.map((rec) => ({
    label: rec.label,
    events: rec.events.map((e) => {
      const { t, event, ...rest } = e;
      return Object.keys(rest).length ? `${event}@${t}${JSON.stringify(rest)}` : `${event}@${t}`;
    }),
    pings: rec.pings.length,
    data: rec.data.length,
  }));
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const hardTimeout = opts.timeout
    || (opts.pingInterval ? Math.max(DEFAULT_TIMEOUT, Math.round(3.5 * opts.pingInterval) + 10000)
      : DEFAULT_TIMEOUT);

  let finished = false;
  function finish(err, result) {
    if (finished) return;
    finished = true;
    clearTimeout(hardTimer);
    const summary = { scenario: opts.scenario, ok: !err, ms: now() };
    if (err) summary.error = err.message;
    Object.assign(summary, result || {});
    summary.clients = observed();
    destroyClients();
    // Escape U+2028/U+2029 so line-splitting readers see exactly one line.
    const line = JSON.stringify(summary).replace(/[\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16)}`);
    process.stdout.write(`${line}\n`);
    if (err) {
      process.stderr.write(`client.js: scenario '${opts.scenario}' FAILED against ${opts.url}: `
        + `${err.message}\n`);
      // Failure path: do not risk hanging on half-closed sockets.
      process.exitCode = 1;
      setTimeout(() => process.exit(1), 50);
      return;
    }
    process.exitCode = 0;
    // Success path: everything was destroyed, so the event loop should drain
    // by itself. If it does not, something leaked; report it.
    setTimeout(() => {
      const handles = typeof process._getActiveHandles === 'function'
        ? process._getActiveHandles().map((h) => (h && h.constructor ? h.constructor.name : typeof h))
        : [];
      process.stderr.write(`client.js: scenario '${opts.scenario}' passed but the process did not `
        + `exit within ${LEAK_GRACE} ms of destroying its clients (open handles: `
        + `${JSON.stringify(handles)}); did the server complete the WebSocket close handshake?\n`);
      process.exit(3);
    }, LEAK_GRACE).unref();
  }

  const hardTimer = setTimeout(() => {
    finish(new Error(`hard timeout: scenario did not finish within ${hardTimeout} ms`));
  }, hardTimeout);

  process.on('uncaughtException', (err) => finish(new Error(`uncaught exception: ${err && err.stack}`)));
  process.on('unhandledRejection', (err) => finish(new Error(`unhandled rejection: ${err && err.stack}`)));

  Promise.resolve()
    .then(() => SCENARIOS[opts.scenario](opts))
    .then((result) => finish(null, result), (err) => finish(err));
}

main();
