'use strict';
// The chat example's web page in headless Chromium, driven step by step with
// tests/tests/browser_chat.rs over stdout/stdin lines:
//
//   node tests/browser/chat.js <url> [--screenshot <png>]
//
//   → JOINED      two pages joined as ada and bob and exchanged a message each
//   ← RUST-SAID   a typed Rust client joined as rusty and said "hello from rust"
//   → PAGE-SAID   both pages showed it; ada answered "hi rusty"
//   → READY       about to be restarted
//   ← RESTARTED   the server was destroyed (reconnect: true) and started again
//                 on the same port; a new Rust client is connected
//   → {json}      the pages reconnected and rejoined, and chatting works again
//
// Every wait is bounded; any failure exits with code 1 and the reason on
// stderr.

const assert = require('assert/strict');
const { newPage, run, stdinLines } = require('./browser');

const url = process.argv[2];
const screenshotAt = process.argv.indexOf('--screenshot');
const screenshot = screenshotAt > 0 ? process.argv[screenshotAt + 1] : null;
if (!url) {
  console.error('usage: node chat.js <url> [--screenshot <png>]');
  process.exit(2);
}

// Lines from the Rust side.
const stdin = stdinLines();
const expectLine = stdin.expect;
const tell = (line) => console.log(line);

async function openChat(page) {
  await page.goto(`${url}/`);
  await page.waitForFunction(() => document.body.dataset.state === 'open', null, { timeout: 10000 });
}

async function join(page, name) {
  await page.fill('#name', name);
  await page.click('#join');
  await page.waitForFunction((n) => document.body.dataset.joined === n, name, { timeout: 5000 });
}

async function say(page, text) {
  await page.waitForFunction(() => !document.getElementById('send').disabled, null, { timeout: 5000 });
  await page.fill('#text', text);
  await page.click('#send');
}

async function sees(page, from, text, ms = 5000) {
  await page.waitForFunction(
    ([f, t]) => Array.from(document.querySelectorAll('#messages li.msg'))
      .some((li) => li.dataset.from === f && li.querySelector('.text').textContent === t),
    [from, text],
    { timeout: ms },
  );
}

async function members(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('#members li')).map((li) => li.textContent));
}

// stdin stays open (the Rust side holds it): stop reading when done.
const done = stdin.close;

run(90000, async ({ context, journal }) => {
  const ada = await newPage(context, journal);
  const bob = await newPage(context, journal);
  await openChat(ada);
  await openChat(bob);

  // Two pages chat.
  await join(ada, 'ada');
  await join(bob, 'bob');
  await ada.waitForFunction(() => document.getElementById('members').textContent.includes('bob'), null, { timeout: 5000 });
  await say(ada, 'hello from ada');
  await sees(bob, 'ada', 'hello from ada');
  await sees(ada, 'ada', 'hello from ada');
  await say(bob, 'hi ada!');
  await sees(ada, 'bob', 'hi ada!');
  assert.deepEqual(await members(ada), ['ada (you)', 'bob']);
  if (screenshot) {
    await ada.bringToFront();
    await ada.screenshot({ path: screenshot });
  }
  tell('JOINED');

  // The typed Rust client joins and speaks; the pages answer.
  await expectLine('RUST-SAID', 20000);
  await sees(ada, 'rusty', 'hello from rust');
  await sees(bob, 'rusty', 'hello from rust');
  await say(ada, 'hi rusty');
  await sees(bob, 'ada', 'hi rusty');
  tell('PAGE-SAID');

  // Record the reconnection, then let the Rust side restart the server.
  for (const page of [ada, bob]) {
    await page.evaluate(() => {
      window.reconnects = [];
      const note = (event) => (opts) => window.reconnects.push({ event, at: Date.now(), attempt: opts.attempt, scheduled: opts.scheduled });
      window.primus.on('reconnect scheduled', note('reconnect scheduled'));
      window.primus.on('reconnected', note('reconnected'));
    });
  }
  const before = {
    ada: await ada.evaluate(() => window.chatStates.length),
    bob: await bob.evaluate(() => window.chatStates.length),
  };
  tell('READY');
  await expectLine('RESTARTED', 30000);

  // Both pages showed "reconnecting…", came back and joined again.
  const history = {};
  for (const [name, page] of [['ada', ada], ['bob', bob]]) {
    await page.waitForFunction(
      (from) => window.chatStates.slice(from).some((s) => s.state === 'reconnecting') &&
        document.body.dataset.state === 'open' && window.chatJoins >= 2 && !document.getElementById('send').disabled,
      before[name],
      { timeout: 20000 },
    );
    history[name] = await page.evaluate((from) => ({
      states: window.chatStates.slice(from),
      reconnects: window.reconnects,
      status: document.getElementById('status').textContent,
    }), before[name]);
  }
  for (const name of ['ada', 'bob']) {
    const states = history[name].states.map((s) => s.state);
    assert.equal(states[0], 'reconnecting', `${name}: ${states}`);
    assert.equal(states[states.length - 1], 'open', `${name}: ${states}`);
    assert.equal(history[name].status, 'connected');
  }

  // Chatting works again.
  await say(bob, 'back again');
  await sees(ada, 'bob', 'back again');
  await ada.waitForFunction(() => {
    const names = document.getElementById('members').textContent;
    return names.includes('ada') && names.includes('bob');
  }, null, { timeout: 5000 });
  return { history, members: await members(ada) };
}).finally(done);
