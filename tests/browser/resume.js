'use strict';
// The served browser client resuming its session after a lost connection
// (connection state recovery), driven by tests/tests/connection_recovery.rs
// over stdout/stdin lines:
//
//   node tests/browser/resume.js <url>
//
//   → OPEN     the page connected through the proxy at <url> and joined
//              the room `news`
//   ← LOST     the Rust side lost frames on the way, cut the connection,
//              wrote while the spark was detached, and lets it reconnect
//   → {json}   what the page received after joining (session events
//              included), its id before and after, and the answer to the
//              request it had in flight when the connection went
//
// Every wait is bounded; any failure exits with code 1 and the reason on
// stderr.

const { newPage, run, stdinLines } = require('./browser');

const url = process.argv[2];
if (!url) {
  console.error('usage: node resume.js <url>');
  process.exit(2);
}

const stdin = stdinLines();

run(60000, async ({ context, journal }) => {
  const page = await newPage(context, journal);
  // Any page of the server's origin will do; the client is added to it.
  await page.goto(`${url}/primus/spec`);
  await page.addScriptTag({ url: '/primus/primus.js' });
  const id = await page.evaluate(async () => {
    window.log = [];
    const primus = window.primus = new Primus(location.origin, { reconnect: { min: 100, max: 300, retries: 50 } });
    primus.on('data', (data) => window.log.push(data));
    primus.on('resumed', () => window.log.push('resumed'));
    primus.on('not resumed', () => window.log.push('not resumed'));
    await T.once(primus, 'open');
    primus.write({ join: 'news' });
    await T.until(() => window.log.includes('joined'), 5000, 'joined');
    const id = await new Promise((resolve) => primus.id(resolve));
    // In flight when the connection goes: answered after the resume.
    window.asked = primus.request('slow-double', 21, { timeout: 20000 }).then(
      (value) => ({ value }),
      (error) => ({ error: error.message }),
    );
    return id;
  });
  console.log('OPEN');
  await stdin.expect('LOST', 30000);
  await page.waitForFunction(() => window.log.includes(5), null, { timeout: 15000 });
  // Anything sent twice would arrive right behind.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await page.evaluate(() => window.log.slice(window.log.indexOf('joined') + 1));
  const idAfter = await page.evaluate(() => new Promise((resolve) => window.primus.id(resolve)));
  const asked = await page.evaluate(() => window.asked);
  stdin.close();
  return { id, idAfter, after, asked };
});
