import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeRecord } from '../src/core/journalLog';
import { INSERT_SQL, RECORD_VERSION, rowToSql } from '../src/core/journalOps';
import { ARCHIVE_DIR, segmentName, writeSegment } from '../src/core/historyArchive';
import { newDatabase, writeSnapshot } from '../src/core/snapshot';
import { loadSqlJs } from '../src/core/sqlite';
import { TaskStore } from '../src/core/taskStore';
import type { NewTask, TaskRow } from '../src/core/taskTypes';

/**
 * `npm run bench`: measures the journal in one run and writes docs/BENCHMARKS.md.
 * `npm run bench -- --json`: also prints one JSON object as the last line.
 *
 * Latencies are compared with a floor measured in the same run, on the same disk, interleaved
 * sample by sample with the measured operation, because these machines are shared and noisy.
 */

const SIZES = [0, 10_000, 100_000];
const START_SAMPLES = Number(process.env.BENCH_SAMPLES) || 1000;
const OPEN_RUNS = 7;
const DEAD_PID = 2 ** 22 + 4242;

const PROMPT = 'Fix the flaky test in src/parser/tokenizer.test.ts, explain the root cause in two sentences, and keep the public API unchanged.';

function sampleTask(i: number): NewTask {
  return {
    name: `Fix flaky tokenizer test #${i}`,
    agent: 'claude',
    command: 'claude',
    args: ['-p', PROMPT, '--output-format', 'stream-json', '--verbose', '--session-id', randomUUID()],
    cwd: '/home/developer/projects/acme-web',
    workspace: '/home/developer/projects/acme-web',
    prompt: PROMPT,
    format: 'claude-stream-json',
  };
}

function historyRow(i: number, now: number, status: TaskRow['status'] = 'success'): TaskRow {
  const id = randomUUID();
  const task = sampleTask(i);
  const started = now - (i + 10) * 60_000;
  return {
    id,
    name: task.name,
    agent: 'claude',
    command: task.command,
    args: task.args,
    cwd: task.cwd,
    workspace: task.workspace!,
    prompt: PROMPT,
    format: 'claude-stream-json',
    status,
    started_at: started,
    finished_at: status === 'running' ? null : started + 95_000,
    exit_code: status === 'running' ? null : 0,
    signal: null,
    error: null,
    session_id: randomUUID(),
    input_tokens: 1200 + i,
    output_tokens: 3400,
    cache_read_tokens: 15000,
    cache_creation_tokens: 2000,
    cost_usd: 0.0421,
    output_bytes: 48_213,
    log_path: `/home/developer/.config/Code/User/globalStorage/agenttasks.agent-tasks/logs/${id}.log`,
    owner_id: randomUUID(),
    owner_pid: DEAD_PID,
    owner_started_at: now - 86_400_000,
    owner_host: os.hostname(),
    child_pid: null,
    child_started_at: null,
    heartbeat_at: started,
    resolved_at: null,
    resolution: null,
    parent_id: null,
    owner_start_ticks: null,
    child_start_ticks: null,
  };
}

const HOT_KEEP = 2_000;
const SEGMENT_ROWS = 2_000;

/**
 * A store folder as compaction leaves it after `rows` finished tasks: the newest 2,000 in the hot
 * snapshot, the rest in archive segments of 2,000 rows — plus `orphans` running rows of a dead owner.
 */
async function makeStore(dir: string, rows: number, orphans: number): Promise<{ hotBytes: number; archiveBytes: number }> {
  await fsp.mkdir(path.join(dir, 'logs'), { recursive: true, mode: 0o700 });
  const SQL = await loadSqlJs();
  const db = newDatabase(SQL);
  const now = Date.now();
  const all = Array.from({ length: rows }, (_, i) => historyRow(i, now)); // i = 0 is the newest
  const hot = all.slice(0, HOT_KEEP);
  const insert = db.prepare(INSERT_SQL);
  db.exec('BEGIN');
  for (const row of hot) insert.run(rowToSql(row));
  for (let i = 0; i < orphans; i++) insert.run(rowToSql(historyRow(rows + i, now, 'running')));
  db.exec('COMMIT');
  insert.free();
  let archiveBytes = 0;
  const old = all.slice(HOT_KEEP).reverse(); // oldest first, as compaction archives them
  for (let s = 0; s * SEGMENT_ROWS < old.length; s++) {
    const seg = await writeSegment(SQL, dir, segmentName(s + 1), old.slice(s * SEGMENT_ROWS, (s + 1) * SEGMENT_ROWS));
    db.run('INSERT INTO archive_segments (name, rows, oldest_started, newest_started, newest_finished) VALUES (?, ?, ?, ?, ?)', [
      seg.name,
      seg.rows,
      seg.oldest_started,
      seg.newest_started,
      seg.newest_finished,
    ]);
    archiveBytes += (await fsp.stat(path.join(dir, ARCHIVE_DIR, seg.name))).size;
  }
  const hotBytes = await writeSnapshot(db, dir, 0, 'bench');
  db.close();
  return { hotBytes, archiveBytes };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function stats(samples: number[]): { median: number; p99: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1] };
}

/** Durable starts on a store with `size` history rows, interleaved with bare append + fdatasync of the same bytes. */
async function measureStart(root: string, size: number) {
  const dir = path.join(root, `start-${size}`);
  await makeStore(dir, size, 0);
  const store = await TaskStore.open({ dir });
  const floorFile = await fsp.open(path.join(dir, 'floor.bin'), 'a', 0o600);
  const start: number[] = [];
  const floor: number[] = [];
  try {
    for (let i = 0; i < 50; i++) await store.startTask(sampleTask(i)); // warm-up
    for (let i = 0; i < START_SAMPLES; i++) {
      const task = { ...sampleTask(i), id: randomUUID() };
      const bytes = encodeRecord({ v: RECORD_VERSION, by: store.owner.id, op: 'start', row: { ...task, status: 'running' } });
      let t = performance.now();
      await floorFile.write(bytes);
      await floorFile.datasync();
      floor.push(performance.now() - t);
      t = performance.now();
      await store.startTask(task);
      start.push(performance.now() - t);
    }
  } finally {
    await floorFile.close();
    await store.close();
  }
  return { start: stats(start), floor: stats(floor), floorSamples: floor };
}

/** Store open + recovery scan (+ the tree's first data) at `size` rows, from a cold copy of the folder each run. */
async function measureOpen(root: string, size: number) {
  const template = path.join(root, `open-${size}-template`);
  const sizes = await makeStore(template, size, 3);
  const open: number[] = [];
  const deepPage: number[] = [];
  const openScan: number[] = [];
  const openScanTree: number[] = [];
  for (let run = 0; run < OPEN_RUNS; run++) {
    const dir = path.join(root, `open-${size}-${run}`);
    await fsp.cp(template, dir, { recursive: true });
    const t = performance.now();
    const store = await TaskStore.open({ dir });
    const opened = performance.now();
    const marked = await store.markRunningAsInterrupted();
    const unresolved = await store.listUnresolvedInterruptedTasks();
    const scanned = performance.now();
    await store.listTasks({ status: 'running' });
    await store.listTasks({ limit: 50 });
    const tree = performance.now();
    if (marked.length !== 3 || unresolved.length !== 3) throw new Error(`scan marked ${marked.length}, expected 3`);
    // Paging past the hot rows loads archive segments on demand.
    const d = performance.now();
    const page = await store.listTasks({ limit: 50, before: Date.now() - (HOT_KEEP + 500) * 60_000 });
    deepPage.push(performance.now() - d);
    if (page.length !== 50) throw new Error(`deep page had ${page.length} rows`);
    open.push(opened - t);
    openScan.push(scanned - t);
    openScanTree.push(tree - t);
    await store.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const probeDir = path.join(root, `open-${size}-probe`);
  await fsp.cp(template, probeDir, { recursive: true });
  const probe = JSON.parse(execFileSync(process.execPath, [path.join(__dirname, 'rssProbe.js'), probeDir], { encoding: 'utf8' })) as { maxRssMb: number };
  return { open: stats(open), openScan: stats(openScan), openScanTree: stats(openScanTree), deepPage: stats(deepPage), probeRssMb: probe.maxRssMb, ...sizes };
}

function bareNodeRssMb(): number {
  return Number(execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS / 1024))'], { encoding: 'utf8' }));
}

const fmt = (ms: number) => ms.toFixed(3);
const ratio = (a: number, b: number) => (a / b).toFixed(2);

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-bench-'));
  const t0 = performance.now();
  const wasmStart = performance.now();
  await loadSqlJs();
  const wasmMs = performance.now() - wasmStart;
  try {
    const startResults: Record<number, Awaited<ReturnType<typeof measureStart>>> = {};
    for (const size of SIZES) {
      startResults[size] = await measureStart(root, size);
      (globalThis as { gc?: () => void }).gc?.();
    }
    const openResults: Record<number, Awaited<ReturnType<typeof measureOpen>>> = {};
    for (const size of [10_000, 100_000]) {
      openResults[size] = await measureOpen(root, size);
      (globalThis as { gc?: () => void }).gc?.();
    }
    const rssMb = process.resourceUsage().maxRSS / 1024;
    // One floor for the whole run: the median of every interleaved floor sample.
    const floorMedian = stats(SIZES.flatMap((s) => startResults[s].floorSamples)).median;

    const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
    const lines: string[] = [];
    lines.push('# Benchmarks');
    lines.push('');
    lines.push(`Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)} — ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}. Disk: the OS temp folder (${os.tmpdir()}).`);
    lines.push('');
    lines.push('These machines are shared and noisy: read the ratios against the floor, measured in the same run and interleaved sample by sample with the operation it is compared with. Run it again to see the spread.');
    lines.push('');
    lines.push('## Durable start latency');
    lines.push('');
    lines.push(`\`startTask()\` resolves once the start row is durable. The floor is a bare \`write\` + \`fdatasync\` of the same record bytes to a file in the same folder, timed alternately with each start. ${START_SAMPLES} samples per size after 50 warm-up starts.`);
    lines.push('');
    lines.push('| history rows | start median (ms) | start p99 (ms) | floor median (ms) | floor p99 (ms) | median ratio start/floor |');
    lines.push('|---:|---:|---:|---:|---:|---:|');
    for (const size of SIZES) {
      const r = startResults[size];
      lines.push(`| ${size.toLocaleString('en')} | ${fmt(r.start.median)} | ${fmt(r.start.p99)} | ${fmt(r.floor.median)} | ${fmt(r.floor.p99)} | ${ratio(r.start.median, r.floor.median)}× |`);
    }
    const flat = startResults[100_000].start.median / startResults[0].start.median;
    lines.push('');
    lines.push(`Flatness: start median at 100k rows / at 0 rows = ${flat.toFixed(2)}×. Target: start ≤ 1.5× the floor at every size, flat as history grows.`);
    lines.push('');
    lines.push('## Store open + recovery scan');
    lines.push('');
    lines.push(`A cold copy of a store folder holding N finished rows as compaction leaves them (the newest ${HOT_KEEP.toLocaleString('en')} in the hot snapshot, older ones in archive segments of ${SEGMENT_ROWS.toLocaleString('en')} rows that load only when a query reaches them) and 3 running rows of a dead owner. "open" is \`TaskStore.open\`; "+ scan" adds \`markRunningAsInterrupted()\` (marks the 3) and \`listUnresolvedInterruptedTasks()\`; "+ first tree data" adds the running list and the first history page (50 rows). Median of ${OPEN_RUNS} runs. sql.js's one-time wasm load (${fmt(wasmMs)} ms in this process) is not included: it happens once per process, before the first open.`);
    lines.push('');
    lines.push('| rows | hot snapshot | archive | open median (ms) | open + scan median (ms) | open + scan max of 7 (ms) | + first tree data median (ms) | a history page past the hot rows, cold (ms) |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const size of [10_000, 100_000]) {
      const r = openResults[size];
      lines.push(
        `| ${size.toLocaleString('en')} | ${(r.hotBytes / 2 ** 20).toFixed(1)} MiB | ${(r.archiveBytes / 2 ** 20).toFixed(1)} MiB | ${fmt(r.open.median)} | ${fmt(r.openScan.median)} | ${fmt(r.openScan.max)} | ${fmt(r.openScanTree.median)} | ${fmt(r.deepPage.median)} |`,
      );
    }
    lines.push('');
    lines.push('Targets: open + scan at 100k rows ≤ 50 ms; open + scan + first tree data ≤ 100 ms.');
    lines.push('');
    lines.push('## Memory');
    lines.push('');
    lines.push(`Peak RSS of a fresh Node process that opens the store, runs the recovery scan and reads the first tree data (bench/rssProbe.ts): ${openResults[10_000].probeRssMb.toFixed(0)} MiB at 10k rows, ${openResults[100_000].probeRssMb.toFixed(0)} MiB at 100k rows. An idle \`node -e ''\` on this machine: ${bareNodeRssMb().toFixed(0)} MiB. Peak RSS of the benchmark process itself (it generates the 100k rows in memory): ${rssMb.toFixed(0)} MiB.`);
    lines.push('');
    lines.push(`Total benchmark time: ${((performance.now() - t0) / 1000).toFixed(1)} s. Reproduce: \`npm run bench\` (\`BENCH_SAMPLES=N\` for more start samples).`);
    lines.push('');
    const docs = path.join(__dirname, '..', '..', 'docs');
    await fsp.mkdir(docs, { recursive: true });
    await fsp.writeFile(path.join(docs, 'BENCHMARKS.md'), lines.join('\n'));
    console.log(lines.join('\n'));
    if (json) {
      console.log(
        JSON.stringify({
          floor_ms: Number(floorMedian.toFixed(4)),
          start_ms: Object.fromEntries(SIZES.map((s) => [String(s), Number(startResults[s].start.median.toFixed(4))])),
          open_scan_ms: Object.fromEntries([10_000, 100_000].map((s) => [String(s), Number(openResults[s].openScan.median.toFixed(3))])),
          rss_mb: Number(openResults[100_000].probeRssMb.toFixed(1)),
        }),
      );
    }
  } finally {
    await fsp.rm(root, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
