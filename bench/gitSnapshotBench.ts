import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runGit } from '../src/core/git';
import { findWorkTree, snapshotRef, takeSnapshot, type GitRunState, type WorkTree } from '../src/core/gitSnapshot';
import { changeRange, diffPatch, listChanges, type ChangedFile } from '../src/core/runChanges';
import { TaskRunner } from '../src/core/taskRunner';
import { TaskStore } from '../src/core/taskStore';

/**
 * A run's git snapshots (src/core/gitSnapshot.ts, runSnapshots.ts) on a generated repository of
 * 20,000 small files in nested folders, 100 of them modified and 20 untracked:
 * - one snapshot against `git status --porcelain` on the same repository, interleaved sample by
 *   sample (the floor: what any git tool pays to learn the same thing);
 * - the changes list (and the patch) of a run that changed 100 files;
 * - through the real TaskRunner and TaskStore: how long after the agent's spawn its start snapshot
 *   is in the journal, against how long a trivial Node child takes to write its first file.
 *
 * `node out/bench/gitSnapshotBench.js` runs this part alone and prints its section and a JSON
 * line (docs/BENCHMARKS.md is only written by bench/run.ts).
 */

export const SNAPSHOT_FILES = 20_000;
export const SNAPSHOT_MODIFIED = 100;
export const SNAPSHOT_UNTRACKED = 20;
export const SNAPSHOT_RUNS = 11;
export const ORDERING_RUNS = 7;
/** The run whose changes are listed: 100 files, in every kind of change. */
const RUN_CHANGES = { modified: 70, added: 15, deleted: 10, renamed: 5 } as const;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const summary = (values: number[]) => ({ median: median(values), min: Math.min(...values), max: Math.max(...values) });

/** Epoch milliseconds with sub-ms resolution, comparable between this process and a child's `performance.timeOrigin + performance.now()`. */
const epochNow = (): number => performance.timeOrigin + performance.now();

/** 20,000 files: 10 × 10 × 10 folders of 20, each a dozen lines of source-like text (about 6 MB). */
function fileOf(i: number): string {
  const dir = `src/pkg${i % 10}/mod${Math.floor(i / 10) % 10}/part${Math.floor(i / 100) % 10}`;
  return `${dir}/file${i}.ts`;
}

function contentOf(i: number): string {
  const lines = [`// file ${i}`, `export function f${i}(x: number): number {`];
  for (let l = 0; l < 10; l++) lines.push(`  x = x * ${l + 3} + ${(i * 31 + l) % 997}; // step ${l}`);
  lines.push('  return x;', '}', '');
  return lines.join('\n');
}

/** Text no generated file resembles, so that rename detection pairs only the real renames. */
function unrelatedContent(seed: string, lines: number): string {
  return Array.from({ length: lines }, (_, l) => `${seed} ${randomUUID()} ${l}`).join('\n') + '\n';
}

const GIT_IDENTITY = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' };

function gitSync(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: { ...process.env, ...GIT_IDENTITY }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
}

/** The repository: 20,000 files committed, then 100 of them modified and 20 new untracked files. */
async function makeRepository(repo: string): Promise<{ generateMs: number }> {
  const t = performance.now();
  await fsp.mkdir(repo, { recursive: true });
  gitSync(repo, 'init', '-q', '-b', 'main');
  const dirs = new Set<string>();
  for (let i = 0; i < SNAPSHOT_FILES; i++) {
    const file = path.join(repo, fileOf(i));
    const dir = path.dirname(file);
    if (!dirs.has(dir)) {
      await fsp.mkdir(dir, { recursive: true });
      dirs.add(dir);
    }
    await fsp.writeFile(file, contentOf(i));
  }
  gitSync(repo, 'add', '-A');
  gitSync(repo, 'commit', '-q', '-m', 'generated');
  // The user's work in progress when the run starts: spread over the tree.
  for (let k = 0; k < SNAPSHOT_MODIFIED; k++) await fsp.appendFile(path.join(repo, fileOf(k * 199)), `// edited by hand ${k}\n`);
  for (let k = 0; k < SNAPSHOT_UNTRACKED; k++) await fsp.writeFile(path.join(repo, path.dirname(fileOf(k * 997)), `notes-${k}.md`), `notes ${k}\n`);
  const status = gitSync(repo, 'status', '--porcelain').split('\n').filter(Boolean);
  const modified = status.filter((l) => l.startsWith(' M')).length;
  const untracked = status.filter((l) => l.startsWith('??')).length;
  if (modified !== SNAPSHOT_MODIFIED || untracked !== SNAPSHOT_UNTRACKED) throw new Error(`the generated repository has ${modified} modified and ${untracked} untracked files`);
  return { generateMs: performance.now() - t };
}

async function timeGitStatus(repo: string): Promise<number> {
  const t = performance.now();
  const r = await runGit(['status', '--porcelain'], { cwd: repo });
  const ms = performance.now() - t;
  const lines = r.stdout.toString('utf8').split('\n').filter(Boolean).length;
  if (r.code !== 0 || lines !== SNAPSHOT_MODIFIED + SNAPSHOT_UNTRACKED) throw new Error(`git status answered ${lines} lines (exit ${r.code}): ${r.stderr}`);
  return ms;
}

/** The same steps as takeSnapshot, one git command at a time, to show where its time goes. */
async function timeSteps(work: WorkTree, dir: string): Promise<{ copy: number; add: number; writeTree: number }> {
  const index = path.join(dir, 'index');
  let t = performance.now();
  await fsp.copyFile(work.indexFile, index);
  const copy = performance.now() - t;
  const env = { GIT_INDEX_FILE: index };
  t = performance.now();
  await runGit(['add', '-A', '--ignore-errors', '--', '.'], { cwd: work.root, env });
  const add = performance.now() - t;
  t = performance.now();
  await runGit(['write-tree'], { cwd: work.root, env });
  const writeTree = performance.now() - t;
  await fsp.rm(index, { force: true });
  return { copy, add, writeTree };
}

/** A run's 100 changes on top of the start state: modified, added, deleted and renamed files. */
async function changeHundredFiles(repo: string): Promise<void> {
  // Files the user had not touched (every 199th was), each kind from its own part of the tree.
  const pick = (k: number) => fileOf(k * 199 + 50);
  let k = 0;
  for (let n = 0; n < RUN_CHANGES.modified; n++, k++) {
    const file = path.join(repo, pick(k));
    const text = await fsp.readFile(file, 'utf8');
    await fsp.writeFile(file, text.replace('  return x;', '  x = x ^ 0x5f;\n  return x + 1;'));
  }
  for (let n = 0; n < RUN_CHANGES.added; n++) await fsp.writeFile(path.join(repo, path.dirname(pick(k + n)), `added-${n}.ts`), unrelatedContent(`added ${n}`, 8));
  k += RUN_CHANGES.added;
  for (let n = 0; n < RUN_CHANGES.deleted; n++, k++) await fsp.rm(path.join(repo, pick(k)));
  for (let n = 0; n < RUN_CHANGES.renamed; n++, k++) {
    const from = path.join(repo, pick(k));
    await fsp.rename(from, from.replace(/\.ts$/, '.renamed.ts'));
  }
}

function checkChanges(files: readonly ChangedFile[]): void {
  const count = (status: ChangedFile['status']) => files.filter((f) => f.status === status).length;
  const got = { modified: count('modified'), added: count('added'), deleted: count('deleted'), renamed: count('renamed') };
  if (JSON.stringify(got) !== JSON.stringify(RUN_CHANGES)) throw new Error(`the 100-file run lists ${JSON.stringify(got)}, expected ${JSON.stringify(RUN_CHANGES)}`);
}

export interface OrderingSample {
  /** `runner.start()`: the durable start record, the log file, the spawn. */
  startCallMs: number;
  /** From the spawn (start() resolved) until takeSnapshot returned (recordGit called). */
  snapshotTakenMs: number;
  /** From the spawn until the start snapshot was durable in the journal. */
  snapshotRecordedMs: number;
  /** From the spawn until the child had written its file (its own clock). */
  firstWriteMs: number;
  /** The child's file is in the start snapshot: its write would not show as the run's change. */
  inStartSnapshot: boolean;
}

/**
 * Real runs through TaskRunner and TaskStore in the repository: each child is a bare Node that
 * writes one file at once. recordGit is wrapped to time the start snapshot's arrival in the journal.
 */
async function measureOrdering(root: string, repo: string): Promise<OrderingSample[]> {
  const store = await TaskStore.open({ dir: path.join(root, 'git-bench-store') });
  const calls = new Map<string, { called: number; done: number }>();
  const recordGit = store.recordGit.bind(store);
  store.recordGit = async (id: string, git: GitRunState) => {
    const called = epochNow();
    await recordGit(id, git);
    // Only the first call per run: the start snapshot (the end one comes when the run ends).
    if (!calls.has(id)) calls.set(id, { called, done: epochNow() });
  };
  const runner = new TaskRunner(store, { log: (m) => console.error(`[runner] ${m}`) });
  const samples: OrderingSample[] = [];
  try {
    for (let i = 0; i < ORDERING_RUNS + 1; i++) {
      const file = `first-write-${i}.txt`;
      const script = `require('fs').writeFileSync(${JSON.stringify(file)}, String(performance.timeOrigin + performance.now()))`;
      const id = randomUUID();
      const before = epochNow();
      const task = await runner.start({ id, name: `first write ${i}`, command: process.execPath, args: ['-e', script], cwd: repo });
      const spawned = epochNow();
      const row = await task.done;
      if (row.status !== 'success' || !row.git?.start || !row.git.end) throw new Error(`the run ended ${row.status} with git ${JSON.stringify(row.git)}: ${row.error}`);
      const wrote = Number(await fsp.readFile(path.join(repo, file), 'utf8'));
      const inStart = (await runGit(['cat-file', '-e', `${row.git.start.tree}:${file}`], { cwd: repo })).code === 0;
      const inEnd = (await runGit(['cat-file', '-e', `${row.git.end.tree}:${file}`], { cwd: repo })).code === 0;
      if (!inEnd) throw new Error(`${file} is missing from the end snapshot`);
      const call = calls.get(id);
      if (!call) throw new Error('the start snapshot was never recorded');
      await fsp.rm(path.join(repo, file));
      if (i === 0) continue; // warm-up: the runner's and the child's code paths, the disk cache
      samples.push({ startCallMs: spawned - before, snapshotTakenMs: call.called - spawned, snapshotRecordedMs: call.done - spawned, firstWriteMs: wrote - spawned, inStartSnapshot: inStart });
    }
  } finally {
    runner.dispose();
    await store.close();
  }
  return samples;
}

export interface GitSnapshotBench {
  gitVersion: string;
  generateMs: number;
  indexKb: number;
  snapshot: { median: number; min: number; max: number };
  gitStatus: { median: number; min: number; max: number };
  /** `git --version` through runGit: what one more git process costs before it does anything. */
  gitSpawn: { median: number };
  steps: { copy: number; add: number; writeTree: number };
  endSnapshot: { median: number };
  changesList: { median: number; max: number };
  patch: { median: number; bytes: number };
  liveChanges: { median: number };
  ordering: {
    startCall: { median: number };
    snapshotTaken: { median: number; max: number };
    snapshotRecorded: { median: number; max: number };
    firstWrite: { median: number; min: number };
    inStartSnapshot: number;
    runs: number;
  };
}

/** Runs the measurements in `root`/git-snapshot (removed after), with git's system and global config out of the way. */
export async function measureGitSnapshot(root: string): Promise<GitSnapshotBench> {
  const repo = path.join(root, 'git-snapshot', 'repo');
  // The figures are git's own, not a developer's git config (fsmonitor, hooks, untracked cache).
  const saved = { GIT_CONFIG_NOSYSTEM: process.env.GIT_CONFIG_NOSYSTEM, GIT_CONFIG_GLOBAL: process.env.GIT_CONFIG_GLOBAL };
  process.env.GIT_CONFIG_NOSYSTEM = '1';
  process.env.GIT_CONFIG_GLOBAL = os.devNull;
  try {
    const { generateMs } = await makeRepository(repo);
    const work = await findWorkTree(repo);
    if ('unavailable' in work) throw new Error(work.unavailable);
    const indexKb = (await fsp.stat(work.indexFile)).size / 1024;

    // Warm: the files' inodes and the index in the page cache, git's code too.
    await timeGitStatus(repo);
    const first = await takeSnapshot(work);
    const snapshot: number[] = [];
    const status: number[] = [];
    const spawn: number[] = [];
    const stepSamples: { copy: number; add: number; writeTree: number }[] = [];
    const stepDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-bench-index-'));
    const measures = {
      status: async () => status.push(await timeGitStatus(repo)),
      snapshot: async (i: number) => {
        const t = performance.now();
        const s = await takeSnapshot(work, { ref: snapshotRef(`bench-${i}`, 'start') });
        snapshot.push(performance.now() - t);
        if (s.tree !== first.tree) throw new Error(`snapshot ${i} wrote tree ${s.tree}, the first wrote ${first.tree}: the work tree changed under the benchmark`);
      },
      steps: async () => stepSamples.push(await timeSteps(work, stepDir)),
      spawn: async () => {
        const t = performance.now();
        await runGit(['--version'], { cwd: repo });
        spawn.push(performance.now() - t);
      },
    };
    const order = Object.keys(measures) as (keyof typeof measures)[];
    try {
      for (let i = 0; i < SNAPSHOT_RUNS; i++) {
        // Interleaved in rotating order: this machine is shared, and each one runs on the cache the previous left.
        for (let k = 0; k < order.length; k++) await measures[order[(i + k) % order.length]](i);
      }
    } finally {
      await fsp.rm(stepDir, { recursive: true, force: true });
    }

    // A run that changed 100 files: its end snapshot, its changes list, its patch, and the live list (a snapshot now + the list).
    const start = await takeSnapshot(work, { ref: snapshotRef('bench-run', 'start') });
    await changeHundredFiles(repo);
    const endSamples: number[] = [];
    let end = start;
    for (let i = 0; i < SNAPSHOT_RUNS; i++) {
      const t = performance.now();
      end = await takeSnapshot(work, { ref: snapshotRef('bench-run', 'end') });
      endSamples.push(performance.now() - t);
    }
    const list: number[] = [];
    const patch: number[] = [];
    const live: number[] = [];
    let patchBytes = 0;
    for (let i = 0; i < SNAPSHOT_RUNS; i++) {
      let t = performance.now();
      const files = await listChanges(repo, start.tree, end.tree);
      list.push(performance.now() - t);
      checkChanges(files);
      t = performance.now();
      patchBytes = (await diffPatch(repo, start.tree, end.tree)).length;
      patch.push(performance.now() - t);
      t = performance.now();
      const range = await changeRange({ root: work.root, start, end: null, unavailable: null, worktree: null }, { allowSnapshotNow: true });
      if (!range.ok) throw new Error(range.reason);
      checkChanges(await listChanges(range.root, range.from.tree, range.to.tree));
      live.push(performance.now() - t);
    }

    const ordering = await measureOrdering(path.join(root, 'git-snapshot'), repo);
    const pick = (f: (s: OrderingSample) => number) => ordering.map(f);
    return {
      gitVersion: gitSync(repo, '--version').trim(),
      generateMs,
      indexKb,
      snapshot: summary(snapshot),
      gitStatus: summary(status),
      gitSpawn: { median: median(spawn) },
      steps: { copy: median(stepSamples.map((s) => s.copy)), add: median(stepSamples.map((s) => s.add)), writeTree: median(stepSamples.map((s) => s.writeTree)) },
      endSnapshot: { median: median(endSamples) },
      changesList: { median: median(list), max: Math.max(...list) },
      patch: { median: median(patch), bytes: patchBytes },
      liveChanges: { median: median(live) },
      ordering: {
        startCall: { median: median(pick((s) => s.startCallMs)) },
        snapshotTaken: { median: median(pick((s) => s.snapshotTakenMs)), max: Math.max(...pick((s) => s.snapshotTakenMs)) },
        snapshotRecorded: { median: median(pick((s) => s.snapshotRecordedMs)), max: Math.max(...pick((s) => s.snapshotRecordedMs)) },
        firstWrite: { median: median(pick((s) => s.firstWriteMs)), min: Math.min(...pick((s) => s.firstWriteMs)) },
        inStartSnapshot: ordering.filter((s) => s.inStartSnapshot).length,
        runs: ordering.length,
      },
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await fsp.rm(path.join(root, 'git-snapshot'), { recursive: true, force: true });
  }
}

export const SNAPSHOT_TARGET_RATIO = 2;

export function snapshotRatio(r: GitSnapshotBench): number {
  return r.snapshot.median / r.gitStatus.median;
}

export function gitSnapshotSection(r: GitSnapshotBench, fmt: (ms: number) => string): string[] {
  const ratio = snapshotRatio(r);
  const o = r.ordering;
  const margin = o.firstWrite.median - o.snapshotTaken.median;
  return [
    "## A run's git snapshots",
    '',
    `Every run in a git work tree gets a snapshot of the whole work tree (tracked files, and untracked ones that are not ignored) when it starts and when it ends (src/core/gitSnapshot.ts): the user's index is copied to a private file (keeping its mtime, so that git re-reads "racily clean" files as \`git status\` does), \`GIT_INDEX_FILE=<copy> git add -A\` stages the work tree into the copy (reusing the index's stat data, so only changed files are read and hashed), \`git write-tree\` writes a tree of it and \`git update-ref\` keeps it under \`refs/agent-tasks/<task id>/\`; HEAD is read alongside. A generated repository of ${SNAPSHOT_FILES.toLocaleString('en')} small files in 1,000 nested folders (a ${(r.indexKb / 1024).toFixed(1)} MiB index; generated and committed in ${(r.generateMs / 1000).toFixed(1)} s), ${SNAPSHOT_MODIFIED} of them modified and ${SNAPSHOT_UNTRACKED} untracked, in the OS temp folder; ${r.gitVersion}, system and global git config ignored. The floor is \`git status --porcelain\` on the same repository, started the same way (\`runGit\`, src/core/git.ts, which sets \`GIT_OPTIONAL_LOCKS=0\`: neither writes the user's index); ${SNAPSHOT_RUNS} of each after one warm-up (files and index in the page cache for both), interleaved in rotating order with the next two rows.`,
    '',
    '| | median (ms) | min (ms) | max (ms) | target |',
    '|---|---:|---:|---:|---|',
    `| **\`takeSnapshot\`** (copy the index, \`add -A\`, \`write-tree\`, \`update-ref\`; HEAD alongside) | **${fmt(r.snapshot.median)}** | ${fmt(r.snapshot.min)} | ${fmt(r.snapshot.max)} | ≤ ${SNAPSHOT_TARGET_RATIO}× the floor: **${ratio.toFixed(2)}×**, ${ratio <= SNAPSHOT_TARGET_RATIO ? 'met' : '**not met**'} |`,
    `| floor: \`git status --porcelain\` | ${fmt(r.gitStatus.median)} | ${fmt(r.gitStatus.min)} | ${fmt(r.gitStatus.max)} | |`,
    `| its steps one at a time: copy the index / \`add -A\` / \`write-tree\` | ${fmt(r.steps.copy)} / ${fmt(r.steps.add)} / ${fmt(r.steps.writeTree)} | | | |`,
    `| one more git process: \`git --version\` | ${fmt(r.gitSpawn.median)} | | | |`,
    `| the end snapshot of a run that changed 100 more files | ${fmt(r.endSnapshot.median)} | | | |`,
    `| **the changes list of that run**: \`listChanges\` (\`diff-tree --name-status\` and \`--numstat\`, renames on), 100 files | **${fmt(r.changesList.median)}** | | ${fmt(r.changesList.max)} | |`,
    `| its whole patch: \`diffPatch\` (${(r.patch.bytes / 1024).toFixed(0)} KiB) | ${fmt(r.patch.median)} | | | |`,
    `| the list of a live run: a snapshot now, then the list (\`changeRange\` + \`listChanges\`) | ${fmt(r.liveChanges.median)} | | | |`,
    '',
    `Where the snapshot's time goes beyond \`git status\`: \`add -A\` does the same walk (an lstat of every tracked file, a read of every folder for untracked ones) and then writes the whole private index, every entry and its checksum; \`write-tree\` is a second git process that reads that index again, writes the trees that changed and writes the index once more (to keep their ids); \`update-ref\` is a third. Each of those git processes costs ${fmt(r.gitSpawn.median)} ms here before it does anything (\`git --version\`, from this process). The steps, the floor and \`git --version\` are timed in the same rotation as the snapshot. The run's 100 changes are ${RUN_CHANGES.modified} modified, ${RUN_CHANGES.added} added, ${RUN_CHANGES.deleted} deleted and ${RUN_CHANGES.renamed} renamed files; every list is checked to be exactly that.`,
    '',
    '### When the start snapshot is taken',
    '',
    `The run does not wait for its start snapshot: its git commands start when \`runner.start()\` is called, before the start record is made durable and the agent spawned, and run alongside both (src/core/runSnapshots.ts); its ref and its record are written once the row is journaled. The end snapshot is taken after the agent exited, before the run's end is journaled. Measured through the real \`TaskRunner\` and \`TaskStore\`, in the repository above, with the fastest agent there can be — \`node -e "require('fs').writeFileSync(...)"\`, a bare Node that writes one file into the work tree as soon as it runs — ${o.runs} runs after one warm-up. Times are from the moment \`runner.start()\` resolved (the agent spawned; the call itself, with the durable start record, took ${fmt(o.startCall.median)} ms); the child reports when it wrote on its own clock (\`performance.timeOrigin + performance.now()\`).`,
    '',
    '| from the spawn until | median (ms) | |',
    '|---|---:|---|',
    `| the start snapshot is written (its tree and ref) | ${fmt(o.snapshotTaken.median)} | worst ${fmt(o.snapshotTaken.max)} |`,
    `| the start snapshot is durable in the journal | ${fmt(o.snapshotRecorded.median)} | worst ${fmt(o.snapshotRecorded.max)} |`,
    `| a bare Node child has written its first file | ${fmt(o.firstWrite.median)} | earliest ${fmt(o.firstWrite.min)} |`,
    '',
    `The child's file was in the start snapshot in **${o.inStartSnapshot} of ${o.runs} runs** (in the end snapshot in all). ${
      margin > 0
        ? `The snapshot was written ${margin.toFixed(0)} ms before the child's write (medians), but that is not a margin: \`add -A\` reads each folder at some point of its walk, and a file written before the walk gets there is in the snapshot.`
        : `The child wrote ${(-margin).toFixed(0)} ms before the snapshot was written (medians), while \`add -A\` was walking the tree: whether its file is in the snapshot depends on whether the walk had read that folder yet.`
    }`,
    '',
    "Limits of this ordering. The start snapshot races the agent, and a command that writes within the snapshot's first few hundred ms can have those writes counted as the start, so they do not show as the run's changes; a write to a tracked file during the walk can land on either side. Nothing detects that today. An agent CLI writes much later: it starts its own runtime, reads its configuration and needs at least one answer from its model before it edits anything (measured by hand on this machine while this was written, before any model request: `claude --version` 0.3 s, `codex --version` 0.18 s, `gemini --version` 3.1 s, warm); a plain command run as a task (a script, a formatter, a code generator) can beat the snapshot, as the bare Node above sometimes does. The snapshot grows with the repository like `git status` does, and slows down on a loaded machine, so the window widens with them. Taking the snapshot before the spawn would close the race, at the cost of the whole snapshot on every run's start. And a snapshot is of the whole work tree: whatever else writes there during the run — the user in the editor, another run in the same folder — is listed as this run's change.",
    '',
  ];
}

if (require.main === module) {
  void (async () => {
    const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'agent-tasks-bench-git-'));
    try {
      const r = await measureGitSnapshot(root);
      console.log(gitSnapshotSection(r, (ms) => ms.toFixed(3)).join('\n'));
      console.log(JSON.stringify(r));
    } finally {
      await fsp.rm(root, { recursive: true, force: true });
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
