/**
 * Every readable row survives any damage: for each file kind of a compacted store (snapshot,
 * archive segment, journal log) and each kind of damage, the CLI's `recover` and `list` exit 0,
 * the damaged bytes still exist under the store folder, every row an undamaged file holds is
 * listed, and a new run is journaled and listed afterwards.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { decodeRecords } from '../../src/core/journalLog';
import { loadSqlJs } from '../../src/core/sqlite';
import { TaskStore } from '../../src/core/taskStore';
import { runCli } from '../helpers/cliProcess';
import { makeTempDir, sampleTask } from '../helpers/tempDir';



/** A compacted store: a snapshot, several archive segments and a log with rows of its own. */
async function compactedStore(dir: string): Promise<void> {
  const store = await TaskStore.open({ dir, rotationGraceMs: 0, hotHistory: { max: 30, keep: 15 }, compactInBackground: false });
  for (let i = 0; i < 100; i++) {
    await store.startTask({ ...sampleTask(i), id: `row-${String(i).padStart(3, '0')}`, started_at: 1_700_000_000_000 + i * 1000 });
    await store.finishTask(`row-${String(i).padStart(3, '0')}`, { status: i % 7 === 0 ? 'failed' : 'success', exit_code: 0 });
    if (i % 25 === 24 && i < 90) await store.compact();
  }
  await store.close();
}

async function idsInSqlite(bytes: Buffer): Promise<string[]> {
  const SQL = await loadSqlJs();
  const db = new SQL.Database(bytes);
  try {
    return (db.exec('SELECT id FROM task_history')[0]?.values ?? []).map((v) => String(v[0]));
  } finally {
    db.close();
  }
}

function idsInLog(bytes: Buffer): string[] {
  const ids: string[] = [];
  for (const r of decodeRecords(bytes).records as { op: string; row?: { id: string } }[]) if (r.row) ids.push(r.row.id);
  return ids;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const DAMAGE: Record<string, (b: Buffer) => Buffer> = {
  'zero-length': () => Buffer.alloc(0),
  'truncated to half': (b) => b.subarray(0, Math.floor(b.length / 2)),
  'random bytes of the same size': (b) => randomBytes(b.length),
  '8 flipped bytes in the middle': (b) => {
    const c = Buffer.from(b);
    const mid = Math.floor(c.length / 2);
    for (let i = 0; i < 8; i++) c[mid + i] ^= 0xff;
    return c;
  },
};

type Target = 'snapshot' | 'segment' | 'log';

async function targetFile(dir: string, target: Target): Promise<string> {
  if (target === 'snapshot') return path.join(dir, 'tasks.db');
  if (target === 'segment') {
    const segs = (await fsp.readdir(path.join(dir, 'archive'))).filter((n) => n.endsWith('.db')).sort();
    return path.join(dir, 'archive', segs[Math.floor(segs.length / 2)]);
  }
  const logs = (await fsp.readdir(dir)).filter((n) => n.endsWith('.journal')).sort();
  return path.join(dir, logs[logs.length - 1]);
}

/** The ids each journal file holds, by file. */
async function idsByFile(dir: string): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  map.set(path.join(dir, 'tasks.db'), await idsInSqlite(await fsp.readFile(path.join(dir, 'tasks.db'))));
  for (const n of await fsp.readdir(path.join(dir, 'archive'))) map.set(path.join(dir, 'archive', n), await idsInSqlite(await fsp.readFile(path.join(dir, 'archive', n))));
  for (const n of (await fsp.readdir(dir)).filter((x) => x.endsWith('.journal'))) map.set(path.join(dir, n), idsInLog(await fsp.readFile(path.join(dir, n))));
  return map;
}

describe('every readable row survives any damage (CLI recover and list)', () => {
  for (const target of ['snapshot', 'segment', 'log'] as const) {
    for (const [damageName, damage] of Object.entries(DAMAGE)) {
      test(`${target}: ${damageName}`, async () => {
        const { dir, cleanup } = await makeTempDir();
        try {
          await compactedStore(dir);
          const held = await idsByFile(dir);
          const file = await targetFile(dir, target);
          assert.ok(held.has(file), `the store has a ${target}`);
          assert.ok((await fsp.readdir(path.join(dir, 'archive'))).length >= 2, 'the store has archive segments');
          const expected = new Set([...held].filter(([f]) => f !== file).flatMap(([, ids]) => ids));
          const damaged = damage(await fsp.readFile(file));
          await fsp.writeFile(file, damaged);

          const recover = await runCli(['recover', '--json', '--store', dir]);
          assert.equal(recover.code, 0, recover.stderr);
          const list = await runCli(['list', '--json', '--limit', '1000', '--store', dir]);
          assert.equal(list.code, 0, list.stderr);
          const listed = new Set((JSON.parse(list.stdout) as { id: string }[]).map((r) => r.id));
          const missing = [...expected].filter((id) => !listed.has(id));
          assert.deepEqual(missing, [], `rows held by undamaged files are listed (stderr: ${list.stderr})`);

          const want = sha(damaged);
          const kept = await Promise.all((await filesUnder(dir)).map(async (f) => sha(await fsp.readFile(f))));
          assert.ok(kept.includes(want), 'the damaged bytes still exist under the store folder');

          const run = await runCli(['run', '--store', dir, '--name', 'after damage', '--', process.execPath, '-e', 'process.stdout.write("ok")']);
          assert.equal(run.code, 0, run.stderr);
          const after = await runCli(['list', '--json', '--limit', '1000', '--store', dir]);
          assert.ok((JSON.parse(after.stdout) as { name: string }[]).some((r) => r.name === 'after damage'), 'a new run is journaled and listed');
        } finally {
          await cleanup();
        }
      });
    }
  }
});
