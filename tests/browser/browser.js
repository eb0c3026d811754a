'use strict';
// Shared support for the browser scripts: launches Debian's headless
// Chromium (/usr/bin/chromium) through playwright-core with a fresh profile,
// bounds every wait, and reports like the interop harness: exit code 0 and a
// JSON summary as the last stdout line on success, exit code 1 and the
// reason on stderr on failure.

const assert = require('assert/strict');
const fs = require('fs');
const readline = require('readline');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts Chromium with a temporary profile; `close()` removes it again. */
async function launch() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install it with \`apt-get install -y chromium\``);
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'primus-rs-chromium-'));
  let context;
  try {
    // launchPersistentContext passes the profile as --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      timeout: 30000,
      viewport: { width: 900, height: 640 },
    });
  } catch (error) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  context.setDefaultTimeout(10000);
  return {
    context,
    async close() {
      await within(10000, 'closing Chromium', context.close()).catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Opens a page that records its console output and uncaught errors. */
async function newPage(context, journal) {
  const page = await context.newPage();
  page.on('console', (message) => journal.push(`console.${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => journal.push(`pageerror: ${error.message}`));
  await page.addInitScript({ content: `(${pageHelpers.toString()})();` });
  return page;
}

/** Rejects with a clear message when `promise` takes longer than `ms`. */
function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Helpers installed in every page as `window.T` (this function is
 * stringified, so it must not close over anything).
 */
function pageHelpers() {
  const T = {
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    /** Resolves with the arguments of the next `name` event, or rejects after `ms`. */
    once(emitter, name, ms = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${name}" event within ${ms} ms`)), ms);
        emitter.once(name, (...args) => {
          clearTimeout(timer);
          resolve(args);
        });
      });
    },
    /** Resolves when `check()` is truthy, or rejects after `ms`. */
    async until(check, ms = 5000, what = 'condition') {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await T.sleep(10);
      }
    },
    /** A JSON-safe copy of an event argument. */
    plain(value) {
      if (value instanceof Error) return { error: value.message };
      if (value instanceof ArrayBuffer) return { arrayBuffer: Array.from(new Uint8Array(value)) };
      if (typeof value === 'number' && Number.isNaN(value)) return 'NaN';
      if (typeof value === 'function') return undefined;
      return value === undefined ? null : JSON.parse(JSON.stringify(value));
    },
    /** Records `names` events of `primus` into `log` as {event, at, args}. */
    record(primus, names, log) {
      const start = performance.now();
      for (const name of names) {
        primus.on(name, (...args) => {
          log.push({ event: name, at: Math.round(performance.now() - start), args: args.map(T.plain) });
        });
      }
      return log;
    },
  };
  window.T = T;
}

/**
 * Runs `body({context, journal, log})` with a browser, within `ms`; prints
 * the summary it returns as JSON on success.
 */
async function run(ms, body) {
  const journal = [];
  let browser;
  try {
    browser = await within(30000, 'launching Chromium', launch());
    const summary = await within(ms, 'the browser scenario', body({ context: browser.context, journal }));
    console.log(JSON.stringify(summary === undefined ? {} : summary));
  } catch (error) {
    console.error(error && error.stack ? error.stack : String(error));
    if (journal.length) console.error(`browser journal:\n  ${journal.join('\n  ')}`);
    process.exitCode = 1;
  } finally {
    if (browser) await browser.close();
  }
}

/**
 * The lines a stepped script gets from its test on stdin: `expect(line, ms)`
 * waits for the next one and checks it; `close()` stops reading (stdin stays
 * open on the test's side).
 */
function stdinLines() {
  const received = [];
  const waiting = [];
  const input = readline.createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line.trim());
    else received.push(line.trim());
  });
  const next = () => (received.length
    ? Promise.resolve(received.shift())
    : new Promise((resolve) => waiting.push(resolve)));
  return {
    async expect(expected, ms) {
      const line = await within(ms, `waiting for ${expected} on stdin`, next());
      assert.equal(line, expected, `expected ${expected} on stdin`);
    },
    close() {
      input.close();
      process.stdin.destroy();
    },
  };
}

module.exports = { CHROMIUM, ARGS, launch, newPage, within, run, stdinLines };
