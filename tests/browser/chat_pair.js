'use strict';
// Two pages of the chat example chatting over the transport a URL query
// picks (the chat server runs with --transformer engine.io or sockjs):
//
//   node tests/browser/chat_pair.js <url> <page query> [--no-websocket]
//
// `--no-websocket` removes WebSocket from the pages before they load (a
// browser behind a proxy that blocks it). Both pages join, chat both ways
// and see each other in the member list; every wait is bounded.

const assert = require('assert/strict');
const { newPage, run } = require('./browser');

const [url, query] = process.argv.slice(2);
const noWebSocket = process.argv.includes('--no-websocket');
if (!url || query === undefined) {
  console.error('usage: node chat_pair.js <url> <page query> [--no-websocket]');
  process.exit(2);
}

async function openChat(page) {
  if (noWebSocket) await page.addInitScript(() => { window.WebSocket = undefined; });
  await page.goto(`${url}/${query}`);
  await page.waitForFunction(() => document.body.dataset.state === 'open', null, { timeout: 15000 });
}

async function join(page, name) {
  await page.fill('#name', name);
  await page.click('#join');
  await page.waitForFunction((n) => document.body.dataset.joined === n, name, { timeout: 10000 });
}

async function say(page, text) {
  await page.waitForFunction(() => !document.getElementById('send').disabled, null, { timeout: 10000 });
  await page.fill('#text', text);
  await page.click('#send');
}

async function sees(page, from, text) {
  await page.waitForFunction(
    ([f, t]) => Array.from(document.querySelectorAll('#messages li.msg'))
      .some((li) => li.dataset.from === f && li.querySelector('.text').textContent === t),
    [from, text],
    { timeout: 10000 },
  );
}

run(90000, async ({ context, journal }) => {
  const ada = await newPage(context, journal);
  const bob = await newPage(context, journal);
  await openChat(ada);
  await openChat(bob);
  await join(ada, 'ada');
  await join(bob, 'bob');
  await ada.waitForFunction(() => document.getElementById('members').textContent.includes('bob'), null, { timeout: 10000 });
  await say(ada, 'hello from ada');
  await sees(bob, 'ada', 'hello from ada');
  await say(bob, 'hi ada!');
  await sees(ada, 'bob', 'hi ada!');
  const members = await ada.evaluate(() => Array.from(document.querySelectorAll('#members li')).map((li) => li.textContent));
  assert.deepEqual(members, ['ada (you)', 'bob']);
  const hasWebSocket = await ada.evaluate(() => typeof window.WebSocket === 'function');
  const errors = journal.filter((line) => line.startsWith('pageerror:'));
  assert.deepEqual(errors, [], 'uncaught errors in the pages');
  return { members, hasWebSocket };
});
