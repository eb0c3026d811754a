'use strict';
// The primus-rs browser client (`<pathname>/primus.js`) in headless Chromium,
// against the test server of tests/tests/browser_client.rs.
//
//   node tests/browser/client.js <url> <scenario> [argument]
//
// The server's test page `<url>/` loads /primus/primus.js; `<url>/empty`
// loads nothing. The server echoes every message and understands a few
// commands: {"cmd":"id"} → {"id": <spark id>}, {"cmd":"end"} → spark.end(),
// {"cmd":"end-reconnect"} → spark.end_reconnect(), {"cmd":"junk"} → odd
// frames then {"done":true}, {"cmd":"typed"} → typed messages then
// {"done":"typed"}; requests {"event":"double"|"fail"|"slow",...,"request":n}
// are answered (or not) like typed requests; {"cmd":"ask"} makes the server
// send requests to the page and write back {"asked": what it got}.
//
// Every check is in this file; the summary printed on success is checked
// again on the Rust side where the server knows more (spark ids, counts).

const assert = require('assert/strict');
const { newPage, run } = require('./browser');

const [url, scenario, argument] = process.argv.slice(2);
if (!url || !scenario) {
  console.error('usage: node client.js <url> <scenario> [argument]');
  process.exit(2);
}

const names = (log) => log.map((entry) => entry.event);

const scenarios = {
  /** Open, queued writes, echo of all JSON kinds, the URL, end. */
  async echo(page) {
    const result = await page.evaluate(async () => {
      const log = [];
      const primus = new Primus(`${location.origin}/ignored/path?foo=bar&foo=baz&x=a+b`);
      T.record(primus, ['readyStateChange', 'open', 'close', 'end'], log);
      const data = [];
      primus.on('data', (value) => data.push(value));
      const before = primus.readyState;
      primus.write('queued before open');
      primus.write(undefined); // sends nothing
      await T.once(primus, 'open');
      const values = ['hello', 42, 1.5, null, true, { a: [1, { b: 'c' }] }, [1, 'x', true, null], 'unicode ✓ é 中 \u2028 line'];
      for (const value of values) primus.write(value);
      await T.until(() => data.length >= values.length + 1, 5000, 'the echoes');
      const open = primus.readyState;
      primus.end();
      return { uri: primus.uri(), before, open, after: primus.readyState, data, values, log };
    });
    assert.match(result.uri, /^ws:\/\/127\.0\.0\.1:\d+\/primus\?foo=bar&x=a%20b&_primuscb=[0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)?&primus_recover=new$/);
    assert.deepEqual([result.before, result.open, result.after], [2, 3, 2]);
    assert.deepEqual(result.data, ['queued before open', ...result.values]);
    assert.deepEqual(names(result.log), ['readyStateChange', 'readyStateChange', 'open', 'readyStateChange', 'close', 'end']);
    assert.deepEqual(result.log.filter((e) => e.event === 'readyStateChange').map((e) => e.args[0]), ['opening', 'open', 'end']);
    return { uri: result.uri, echoed: result.data.length };
  },

  /**
   * The EJSON parser: dates, byte arrays, non-finite numbers and an object
   * that looks like a date go to the server and come back as they were.
   */
  async ejson(page) {
    const result = await page.evaluate(async () => {
      const primus = new Primus(location.origin);
      const data = [];
      primus.on('data', (value) => data.push(value));
      await T.once(primus, 'open');
      const value = {
        when: new Date(1700000000123),
        bytes: new Uint8Array([0, 1, 2, 250, 255]),
        numbers: [Infinity, -Infinity, NaN, 1.5],
        looksLikeADate: { $date: 1 },
        nested: { deep: [new Date(0)] },
      };
      primus.write(value);
      primus.write('plain');
      await T.until(() => data.length >= 2, 5000, 'the echoes');
      const back = data[0];
      const checks = {
        when: back.when instanceof Date && back.when.getTime() === 1700000000123,
        bytes: back.bytes instanceof Uint8Array && Array.from(back.bytes).join() === '0,1,2,250,255',
        numbers: back.numbers[0] === Infinity && back.numbers[1] === -Infinity && Number.isNaN(back.numbers[2]) && back.numbers[3] === 1.5,
        looksLikeADate: !(back.looksLikeADate instanceof Date) && back.looksLikeADate.$date === 1,
        nested: back.nested.deep[0] instanceof Date && back.nested.deep[0].getTime() === 0,
        plain: data[1] === 'plain',
      };
      primus.end();
      return checks;
    });
    assert.deepEqual(result, { when: true, bytes: true, numbers: true, looksLikeADate: true, nested: true, plain: true });
    return result;
  },

  /** The ES module build: no global, same client. */
  async module(page) {
    const result = await page.evaluate(async () => {
      const globalBefore = typeof window.Primus;
      const { default: P } = await import('/primus/primus.mjs');
      const primus = P.connect(location.origin);
      await T.once(primus, 'open');
      primus.write({ from: 'module' });
      const [echo] = await T.once(primus, 'data');
      primus.end();
      return {
        globalBefore,
        globalAfter: typeof window.Primus,
        constants: [P.OPENING, P.CLOSED, P.OPEN],
        version: P.version,
        pathname: P.pathname,
        echo,
      };
    });
    assert.equal(result.globalBefore, 'undefined');
    assert.equal(result.globalAfter, 'undefined', 'the ES module must not define a global');
    assert.deepEqual(result.constants, [1, 2, 3]);
    assert.equal(result.version, '8.0.9');
    assert.equal(result.pathname, '/primus');
    assert.deepEqual(result.echo, { from: 'module' });
    return result;
  },

  /**
   * A 64 KiB repetitive string each way (compression: the test counts the
   * bytes on the wire); reports the extensions the WebSocket negotiated.
   */
  async compression(page) {
    const result = await page.evaluate(async () => {
      const primus = Primus.connect(location.origin);
      await T.once(primus, 'open');
      const text = 'primus-rs compresses this line. '.repeat(2048);
      primus.write(text);
      const [echo] = await T.once(primus, 'data');
      const extensions = primus.socket.extensions;
      primus.end();
      return { same: echo === text, length: text.length, extensions };
    });
    assert.equal(result.same, true, 'the 64 KiB echo differs');
    return { length: result.length, extensions: result.extensions };
  },

  /** id(cb) (asked before open: queued) and id() equal the server's spark id. */
  async id(page) {
    const result = await page.evaluate(async () => {
      const primus = Primus.connect(location.origin);
      const early = new Promise((resolve) => primus.id(resolve));
      await T.once(primus, 'open');
      const viaCallback = await early;
      const viaPromise = await primus.id();
      primus.write({ cmd: 'id' });
      const [reply] = await T.once(primus, 'data');
      primus.end();
      return { viaCallback, viaPromise, server: reply.id };
    });
    assert.equal(typeof result.server, 'string');
    assert.equal(result.viaCallback, result.server);
    assert.equal(result.viaPromise, result.server);
    return { id: result.server };
  },

  /** Pings are answered: still the same connection after 1.2 s of 200 ms pings. */
  async heartbeat(page) {
    const result = await page.evaluate(async () => {
      const log = [];
      const primus = new Primus();
      T.record(primus, ['close', 'offline', 'end', 'reconnect scheduled'], log);
      const pings = [];
      const pongs = [];
      primus.on('incoming::ping', (stamp) => pings.push(stamp));
      primus.on('outgoing::pong', (stamp) => pongs.push(stamp));
      await T.once(primus, 'open');
      const first = await primus.id();
      await T.sleep(1200);
      const second = await primus.id();
      const state = primus.readyState;
      const events = log.slice();
      primus.end();
      return { pingTimeout: primus.options.pingTimeout, pings, pongs, first, second, state, log: events };
    });
    assert.equal(result.pingTimeout, 300, 'pingTimeout compiled in as 200 + round(200/2)');
    assert.ok(result.pings.length >= 3, `only ${result.pings.length} pings in 1.2 s`);
    assert.deepEqual(result.pongs, result.pings);
    assert.ok(result.pings.every((p) => Number.isInteger(p) && p > 1.7e12), 'pings carry a ms timestamp');
    assert.equal(result.state, 3);
    assert.equal(result.second, result.first, 'the connection was replaced');
    assert.deepEqual(result.log, []);
    return { pings: result.pings.length, id: result.first };
  },

  /** spark.end(): `primus::server::close` then close → close, end, no reconnect. */
  async 'server-end'(page) {
    const result = await page.evaluate(async () => {
      const log = [];
      const primus = new Primus();
      T.record(primus, ['readyStateChange', 'open', 'close', 'end', 'reconnect scheduled', 'reconnect', 'reconnected'], log);
      await T.once(primus, 'open');
      primus.write({ cmd: 'end' });
      await T.once(primus, 'end');
      await T.sleep(1500); // a reconnect would be scheduled within 500 ms
      return { log, state: primus.readyState };
    });
    assert.deepEqual(names(result.log), ['readyStateChange', 'readyStateChange', 'open', 'readyStateChange', 'close', 'end']);
    assert.equal(result.state, 2);
    return result;
  },

  /** spark.end_reconnect(): close → reconnect scheduled (exactly min) → reconnected → open. */
  async 'server-end-reconnect'(page) {
    const result = await page.evaluate(async () => {
      const log = [];
      const primus = new Primus();
      await T.once(primus, 'open');
      const before = await primus.id();
      T.record(primus, ['readyStateChange', 'open', 'close', 'end', 'reconnect scheduled', 'reconnect', 'reconnected', 'online', 'offline'], log);
      primus.write({ cmd: 'end-reconnect' });
      await T.once(primus, 'open', 10000);
      const after = await primus.id();
      primus.end();
      return { log, before, after };
    });
    const events = names(result.log);
    assert.deepEqual(events.slice(0, 8), [
      'readyStateChange', 'close', 'reconnect scheduled', 'readyStateChange', 'reconnect', 'reconnected', 'readyStateChange', 'open',
    ]);
    const at = (name) => result.log.find((e) => e.event === name);
    const scheduled = at('reconnect scheduled').args[0];
    assert.equal(scheduled.attempt, 1);
    assert.equal(scheduled.scheduled, 500, 'the first attempt waits exactly min');
    assert.equal(scheduled.backoff, true);
    assert.deepEqual(
      Object.keys(scheduled),
      ['reconnect timeout', 'retries', 'factor', 'max', 'min', 'start', 'duration', 'attempt', 'backoff', 'scheduled'],
    );
    assert.deepEqual([scheduled['reconnect timeout'], scheduled.retries, scheduled.factor, scheduled.max, scheduled.min], [30000, 10, 2, null, 500]);
    const reconnect = at('reconnect').args[0];
    assert.equal(reconnect.backoff, false);
    assert.ok(reconnect.duration >= 490, `reconnect after ${reconnect.duration} ms`);
    const reconnected = at('reconnected').args[0];
    assert.equal(reconnected.attempt, 1);
    assert.ok(at('reconnect').at - at('reconnect scheduled').at >= 490, 'waited the backoff');
    assert.notEqual(result.after, result.before, 'a reconnect is a new spark');
    return {
      before: result.before,
      after: result.after,
      closedAt: at('close').at,
      reconnectAt: at('reconnect').at,
      reconnectedAt: at('reconnected').at,
      openAt: result.log.filter((e) => e.event === 'open').pop().at,
    };
  },

  /** Odd frames: unknown primus:: strings are data, server::other swallowed, bad JSON is an error, binary an ArrayBuffer. */
  async protocol(page) {
    const result = await page.evaluate(async () => {
      const primus = new Primus();
      const data = [];
      const errors = [];
      const pings = [];
      primus.on('data', (value, raw) => data.push({ value: T.plain(value), raw: T.plain(raw) }));
      primus.on('error', (error) => errors.push(error.message));
      primus.on('incoming::ping', (stamp) => pings.push(T.plain(stamp)));
      await T.once(primus, 'open');
      primus.write({ cmd: 'junk' });
      await T.until(() => data.some((d) => d.value && d.value.done), 5000, '{"done":true}');
      await T.sleep(100);
      const state = primus.readyState;
      primus.end();
      return { data, errors, pings, state };
    });
    assert.deepEqual(result.data.map((d) => d.value), [
      'primus::foo::bar',
      { arrayBuffer: [0xde, 0xad, 0xbe, 0xef] },
      { done: true },
    ]);
    assert.equal(result.data[0].raw, '"primus::foo::bar"');
    assert.equal(result.errors.length, 1, `errors: ${JSON.stringify(result.errors)}`);
    assert.match(result.errors[0], /JSON/);
    assert.deepEqual(result.pings, ['NaN']);
    assert.equal(result.state, 3, 'still connected');
    return result;
  },

  /** Requests from the server (`spark.request`) answered with `primus.answer`. */
  async answers(page) {
    const result = await page.evaluate(async () => {
      const primus = new Primus();
      const data = [];
      primus.on('data', (value) => data.push(value));
      primus.answer('confirm', (question) => question.endsWith('?'));
      primus.answer('pick', ({ max }) => new Promise((resolve) => setTimeout(() => resolve(Math.floor(max / 2)), 50)));
      primus.answer('refuse', () => { throw new Error('not telling'); });
      await T.once(primus, 'open');
      primus.write({ cmd: 'ask' });
      await T.until(() => data.some((d) => d && d.asked), 5000, 'the answers, as the server saw them');
      primus.end();
      return { asked: data.find((d) => d && d.asked).asked, data };
    });
    assert.deepEqual(result.asked, {
      confirm: { ok: true },
      pick: { ok: 4 },
      refuse: { error: 'the client refused the request: not telling' },
      unanswered: { error: 'the client refused the request: no handler for event "unanswered"' },
    });
    assert.equal(result.data.length, 1, 'requests are answered, not delivered as data');
    return result;
  },

  /** The typed layer over untyped echo handlers: send, request, on(name). */
  async typed(page) {
    const result = await page.evaluate(async () => {
      const primus = new Primus();
      const data = [];
      const news = [];
      const shouts = [];
      const opens = [];
      primus.on('data', (value) => data.push(value));
      primus.on('news', (value) => news.push(value));
      primus.on('shout', (value) => shouts.push(value));
      primus.on('open', (...args) => opens.push(args.length));
      const settle = (promise) => promise.then(
        (value) => ({ value }),
        (error) => ({ error: error.message, code: error.code, event: error.event }),
      );
      const doubled = settle(primus.request('double', 21)); // queued before open
      await T.once(primus, 'open');
      const results = { doubled: await doubled };
      results.failed = await settle(primus.request('fail'));
      results.slow = await settle(primus.request('slow', null, { timeout: 300 }));
      primus.send('shout', 'hey');
      primus.send('nothing');
      primus.write({ cmd: 'typed' });
      await T.until(() => data.some((d) => d && d.done === 'typed'), 5000, 'the typed messages');
      const ended = settle(primus.request('slow'));
      primus.end();
      results.ended = await ended;
      results.afterEnd = await settle(primus.request('slow', null, { timeout: 200 }));
      return { results, data, news, shouts, opens };
    });
    const { results } = result;
    assert.deepEqual(results.doubled, { value: 42 });
    assert.deepEqual(results.failed, { error: 'no way', code: 'REJECTED', event: 'fail' });
    assert.equal(results.slow.code, 'TIMEOUT');
    assert.match(results.slow.error, /timed out after 300 ms/);
    assert.equal(results.ended.code, 'CLOSED');
    assert.equal(results.afterEnd.code, 'TIMEOUT', 'queued while closed, never answered');
    // Replies to our requests are consumed; everything else is data,
    // including objects with a `reply` key that do not have a reply's shape.
    assert.deepEqual(result.data, [
      { event: 'shout', data: 'hey' },
      { event: 'nothing' },
      { event: 'news', data: { n: 1 } },
      { event: 'open', data: 1 },
      { reply: 999, data: 'not ours' },
      { reply: 1, score: 10 },
      { reply: 2, data: 'x', from: 'the app' },
      { done: 'typed' },
    ]);
    assert.deepEqual(result.news, [{ n: 1 }]);
    assert.deepEqual(result.shouts, ['hey']);
    assert.deepEqual(result.opens, [0], 'a typed "open" message is not the open event');
    return result;
  },

  /** Nothing listening: error, two attempts with the backoff formula, end, reconnect failed. */
  async unreachable(page) {
    const port = Number(argument);
    assert.ok(port > 0, 'the scenario needs a closed port');
    const result = await page.evaluate(async (port) => {
      const log = [];
      const primus = new Primus(`http://127.0.0.1:${port}`, { reconnect: { min: 100, retries: 2 } });
      T.record(primus, ['error', 'open', 'close', 'end', 'reconnect scheduled', 'reconnect', 'reconnected', 'reconnect failed'], log);
      await T.once(primus, 'reconnect failed', 15000);
      await T.sleep(200);
      return { log, state: primus.readyState };
    }, port);
    assert.deepEqual(names(result.log), [
      'error', 'reconnect scheduled', 'reconnect', 'reconnect scheduled', 'reconnect', 'end', 'reconnect failed',
    ]);
    const scheduled = result.log.filter((e) => e.event === 'reconnect scheduled').map((e) => e.args[0]);
    assert.deepEqual(scheduled.map((s) => s.attempt), [1, 2]);
    assert.equal(scheduled[0].scheduled, 100);
    // attempt 2: round((random() + 1) * 100 * 2^1) is in [200, 400]
    assert.ok(scheduled[1].scheduled >= 200 && scheduled[1].scheduled <= 400, `attempt 2 waits ${scheduled[1].scheduled}`);
    const failed = result.log.find((e) => e.event === 'reconnect failed').args;
    assert.deepEqual(failed[0], { error: 'Unable to recover' });
    assert.equal(failed[1].attempt, 2);
    assert.equal(result.state, 2);
    return { scheduled: scheduled.map((s) => s.scheduled), log: result.log };
  },

  /** A server without heartbeats and a client pingTimeout: offline, close, reconnect, online. */
  async 'ping-timeout'(page) {
    const result = await page.evaluate(async () => {
      const log = [];
      const primus = new Primus({ pingTimeout: 400, reconnect: { min: 100 } });
      T.record(primus, ['open', 'close', 'end', 'offline', 'online', 'reconnect scheduled', 'reconnected'], log);
      await T.once(primus, 'open');
      await T.once(primus, 'reconnected', 5000);
      await T.once(primus, 'open', 5000);
      primus.end();
      return { log, compiled: Primus.pathname };
    });
    assert.deepEqual(names(result.log).slice(0, 7), ['open', 'offline', 'close', 'reconnect scheduled', 'reconnected', 'online', 'open']);
    const at = (name) => result.log.find((e) => e.event === name).at;
    assert.ok(at('offline') - at('open') >= 390, `offline after ${at('offline') - at('open')} ms`);
    return { openAt: at('open'), offlineAt: at('offline'), reconnectedAt: at('reconnected') };
  },

  /** A server with another parser: the served script throws a clear error on load. */
  async 'wrong-parser'(page, journal) {
    const moduleError = await page.evaluate(() =>
      import('/primus/primus.mjs').then(() => null, (error) => error.message));
    const global = await page.evaluate(() => typeof window.Primus);
    const deadline = Date.now() + 3000;
    while (!journal.some((line) => line.startsWith('pageerror:')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const loadError = journal.find((line) => line.startsWith('pageerror:')) || '';
    assert.equal(global, 'undefined');
    assert.match(loadError, /"bincode" parser, but the browser client only speaks "json"/);
    assert.match(moduleError || '', /only speaks "json"/);
    return { loadError, moduleError };
  },
};

/**
 * Over the server's transformer (engine.io, SockJS), with the client
 * options in `argument` (JSON; `"noWebSocket": true` removes WebSocket from
 * the page first): open, queued writes, echo (100 KB too), 200 in order,
 * id(), then the server's end (no reconnect).
 */
scenarios.transport = async function transport(page) {
  const options = JSON.parse(argument || '{}');
  const result = await page.evaluate(async (options) => {
    if (options.noWebSocket) {
      delete options.noWebSocket;
      window.WebSocket = undefined;
    }
    const log = [];
    const primus = new Primus(location.origin, options);
    T.record(primus, ['open', 'close', 'end', 'reconnect scheduled', 'error'], log);
    const data = [];
    primus.on('data', (value) => data.push(value));
    primus.write('queued before open');
    await T.once(primus, 'open', 10000);
    const values = ['hello', 42, { a: [1, { b: 'c' }] }, 'unicode ✓ é 中 \u2028 🚀', 'x'.repeat(100000)];
    for (const value of values) primus.write(value);
    for (let n = 0; n < 200; n++) primus.write({ seq: n });
    await T.until(() => data.length >= values.length + 201, 15000, 'the echoes');
    const id = await primus.id();
    primus.write({ cmd: 'id' });
    await T.until(() => data.length >= values.length + 202, 5000, 'the id');
    primus.write({ cmd: 'end' });
    await T.once(primus, 'end', 10000);
    await T.sleep(1000); // a reconnect would be scheduled within 500 ms
    return { data, values, id, log, state: primus.readyState };
  }, options);
  const expected = ['queued before open', ...result.values];
  for (let n = 0; n < 200; n++) expected.push({ seq: n });
  expected.push({ id: result.id });
  assert.deepEqual(result.data, expected);
  assert.deepEqual(names(result.log), ['open', 'close', 'end']);
  assert.equal(result.state, 2);
  return { id: result.id, received: result.data.length };
};

run(60000, async ({ context, journal }) => {
  const body = scenarios[scenario];
  if (!body) throw new Error(`unknown scenario ${scenario}; known: ${Object.keys(scenarios).join(', ')}`);
  const page = await newPage(context, journal);
  await page.goto(scenario === 'module' ? `${url}/empty` : `${url}/`);
  const summary = await body(page, journal);
  if (scenario !== 'wrong-parser') {
    const errors = journal.filter((line) => line.startsWith('pageerror:'));
    assert.deepEqual(errors, [], 'uncaught errors in the page');
  }
  return { scenario, ...summary };
});
