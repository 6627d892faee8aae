#!/usr/bin/env node
'use strict';
/*
 * A long-running stand-in agent for the e2e scenarios 2a–2c (scenarios.test.ts): it prints one
 * numbered line every TICK_AGENT_INTERVAL_MS (100 ms) for TICK_AGENT_COUNT lines (200: 20 s), so
 * a test can check that the task log holds every line, in order, across a reload or a crash of
 * the editor.
 *
 *   tickAgent.js -p PROMPT (--session-id ID | --resume ID)
 *
 * stdout (plain text, one line each; the profile's format is "text"):
 *   start <session id> new|resumed
 *   tick 1 of N
 *   …
 *   tick N of N
 *   done
 *
 * Environment:
 *   TICK_AGENT_ARGV_FILE        append JSON.stringify(process.argv.slice(2)) + "\n" here first
 *   TICK_AGENT_COUNT            lines of a new session (default 200)
 *   TICK_AGENT_RESUME_COUNT     lines of a resumed session (--resume; default TICK_AGENT_COUNT)
 *   TICK_AGENT_INTERVAL_MS      default 100
 *
 * Like an agent whose supervisor died, it goes on when its stdout has no reader any more (EPIPE
 * is ignored; Node ignores SIGPIPE): only a signal stops it. The lines are written with
 * writeSync, on a fixed schedule (no drift under load: a late timer catches up, in order).
 */
const fs = require('node:fs');

const argv = process.argv.slice(2);
if (process.env.TICK_AGENT_ARGV_FILE) fs.appendFileSync(process.env.TICK_AGENT_ARGV_FILE, JSON.stringify(argv) + '\n');

function valueOf(flag) {
  const i = argv.indexOf(flag);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : null;
}
function intEnv(name, fallback) {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`tickAgent: ${name} must be a non-negative integer, got ${JSON.stringify(v)}\n`);
    process.exit(64);
  }
  return n;
}

const resumed = valueOf('--resume');
const session = resumed ?? valueOf('--session-id') ?? 'no-session';
const count = resumed !== null ? intEnv('TICK_AGENT_RESUME_COUNT', intEnv('TICK_AGENT_COUNT', 200)) : intEnv('TICK_AGENT_COUNT', 200);
const intervalMs = intEnv('TICK_AGENT_INTERVAL_MS', 100);

function out(line) {
  try {
    fs.writeSync(1, line + '\n');
  } catch {
    // EPIPE: nobody reads our output any more (the supervisor died). Keep working.
  }
}

out(`start ${session} ${resumed !== null ? 'resumed' : 'new'}`);
const t0 = Date.now();
let i = 0;
function tick() {
  // Every line that is due by now, in order (a timer late under load catches up).
  while (i < count && Date.now() >= t0 + (i + 1) * intervalMs) {
    i++;
    out(`tick ${i} of ${count}`);
  }
  if (i >= count) {
    out('done');
    return;
  }
  setTimeout(tick, Math.max(0, t0 + (i + 1) * intervalMs - Date.now()));
}
tick();
