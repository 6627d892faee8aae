import { loadSqlJs } from '../src/core/sqlite';
import { TaskStore } from '../src/core/taskStore';
import { historyQueryLimit } from '../src/extension/model/taskPresentation';
import { peakRssMb } from './procMemory';

/**
 * One view's first load in a fresh Node process, as an activating extension does it:
 * `node treeProbe.js <store dir> <mode>` prints one JSON line.
 *
 * - `scan-first`: TaskStore.open → markRunningAsInterrupted() → readView() (the tree row).
 * - `view-first`: TaskStore.open → readView() before any durable write (what the extension shows
 *   first: context.ts attaches the tree before the scan), then the scan and readView() again.
 *
 * sql.js's wasm is loaded (and timed) before the clock starts: it happens once per process.
 * Peak RSS is this process's VmHWM (procMemory.ts), read right after the load.
 */
async function main(): Promise<void> {
  const [dir, mode] = process.argv.slice(2);
  if (!dir || (mode !== 'scan-first' && mode !== 'view-first')) throw new Error('usage: treeProbe <dir> scan-first|view-first');
  let t = performance.now();
  await loadSqlJs();
  const wasmMs = performance.now() - t;
  const afterWasmRssMb = peakRssMb();

  const cpu = process.cpuUsage();
  t = performance.now();
  const store = await TaskStore.open({ dir });
  const openMs = performance.now() - t;
  let firstDataMs: number | undefined;
  // The tree's first page, as tasksView.ts asks for it: one page and the row that says "more"
  // (readView adds as many rows as there are unresolved interrupted ones, shown in their own group).
  const historyLimit = historyQueryLimit(1, 0);
  if (mode === 'view-first') {
    await store.readView({ historyLimit });
    firstDataMs = performance.now() - t;
  }
  const marked = await store.markRunningAsInterrupted();
  const scanMs = performance.now() - t;
  const view = await store.readView({ historyLimit });
  const totalMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const result = {
    mode,
    wasmMs,
    openMs,
    firstDataMs,
    scanMs,
    totalMs,
    cpuMs: (used.user + used.system) / 1000,
    segmentsParsed: store.segmentsParsed,
    afterWasmRssMb,
    rssMb: peakRssMb(),
    marked: marked.length,
    historyLimit,
    running: view.running.length,
    interrupted: view.interrupted.length,
    history: view.history.length,
    historyTotal: view.historyTotal,
    notices: [...store.notices],
  };
  await store.close();
  // Synchronous on a pipe: the line is complete before the process starts to exit.
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
