#!/usr/bin/env node
'use strict';

//
// Runs every client.js scenario, one after the other.
//
//   node run-all.js                      # spawns server.js (pingInterval 300) and tests it
//   node run-all.js --url http://127.0.0.1:PORT --ping-interval MS
//                                        # tests an already running server (e.g. the Rust one)
//   node run-all.js --scenario echo ...  # only the named scenario(s) (repeatable)
//
// Prints one line per scenario and ends with "N passed, N failed". Exit code
// 0 only if every scenario passed.
//

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const SCENARIOS = [
  'open', 'echo', 'order', 'queued', 'id', 'heartbeat', 'end', 'end-reconnect',
  'auth-fail', 'broadcast',
];

function usage(msg) {
  process.stderr.write(`run-all.js: ${msg}\n`);
  process.stderr.write('usage: node run-all.js [--url URL --ping-interval MS] [--scenario NAME]...\n');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { url: null, pingInterval: null, scenarios: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) usage(`missing value for ${arg}`);
      return argv[++i];
    };
    switch (arg) {
      case '--url': opts.url = next(); break;
      case '--ping-interval': opts.pingInterval = Number(next()); break;
      case '--scenario': opts.scenarios.push(next()); break;
      default: usage(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (opts.url && !opts.pingInterval) usage('--ping-interval is required with --url');
  for (const s of opts.scenarios) if (!SCENARIOS.includes(s)) usage(`unknown scenario ${s}`);
  if (!opts.scenarios.length) opts.scenarios = SCENARIOS.slice();
  return opts;
}

function startServer(pingInterval) {
  return new Promise((resolve, reject) => {
    // stdin stays a pipe we own: the server exits when it closes.
    const child = spawn(process.execPath,
      [path.join(__dirname, 'server.js'), '--ping-interval', String(pingInterval)],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('server.js did not print its port within 10 s'));
    }, 10000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server.js exited early (code ${code}, signal ${signal})`));
    });
    rl.once('line', (line) => {
      clearTimeout(timer);
      try {
        const { port } = JSON.parse(line);
        resolve({ child, port });
      } catch (err) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line from server.js: ${line}`));
      }
    });
  });
}

function runScenario(url, scenario, pingInterval) {
  return new Promise((resolve) => {
    const args = [path.join(__dirname, 'client.js'), '--url', url, '--scenario', scenario];
    if (scenario === 'heartbeat') args.push('--ping-interval', String(pingInterval));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    // client.js has its own hard timeout; this is only a last resort.
    const killer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout: stdout.trim(), stderr: stderr.trim() });
    });
  });
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let server = null;
  let url = opts.url;
  let pingInterval = opts.pingInterval;
  if (!url) {
    pingInterval = 300;
    server = await startServer(pingInterval);
    url = `http://127.0.0.1:${server.port}`;
    process.stdout.write(`server.js listening on ${url} (pingInterval ${pingInterval})\n`);
  }

  let passed = 0;
  let failed = 0;
  try {
    for (const scenario of opts.scenarios) {
      const r = await runScenario(url, scenario, pingInterval);
      const ok = r.code === 0;
      if (ok) passed += 1; else failed += 1;
      process.stdout.write(`${ok ? 'PASS' : 'FAIL'} ${scenario} (exit ${r.code}${r.signal ? `, ${r.signal}` : ''}) ${r.stdout}\n`);
      if (!ok && r.stderr) process.stdout.write(`  stderr: ${r.stderr.replace(/\n/g, '\n  ')}\n`);
    }
  } finally {
    if (server) {
      server.child.removeAllListeners('exit');
      server.child.stdin.end();
      server.child.kill('SIGTERM');
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  process.stderr.write(`run-all.js: ${err.message}\n`);
  process.exit(1);
});
