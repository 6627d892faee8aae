import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { changeRange, listChanges } from '../../src/core/runChanges';
import { launchSupervisor } from '../../src/core/supervisorLaunch';
import { TaskStore } from '../../src/core/taskStore';
import { runCli } from '../helpers/cliProcess';
import { changeScript, makeRepo } from '../helpers/gitRepo';
import { signalZeroSucceeds } from '../helpers/processes';
import { readRow } from '../helpers/storeRows';
import { makeTempDir } from '../helpers/tempDir';
import { waitFor } from '../helpers/waitFor';

/** out/test/crash → out/src/cli/supervisorMain.js */
const SUPERVISOR = path.resolve(__dirname, '../../src/cli/supervisorMain.js');

test('a run whose supervisor is SIGKILLed mid-way, then recovered by `agent-tasks recover`, lists what it had changed', async () => {
  const { dir, cleanup } = await makeTempDir();
  try {
    const storeDir = path.join(dir, 'store');
    await (await TaskStore.open({ dir: storeDir, rotationGraceMs: 0 })).close();
    const repo = await makeRepo(path.join(dir, 'repo'), { 'a.txt': 'a\n', 'old.txt': 'old\n' });
    const id = randomUUID();
    // Half of its work done, then it works on (forever) until the crash.
    const body = `fs.writeFileSync('a.txt', 'changed\\n'); fs.unlinkSync('old.txt'); fs.writeFileSync('half-done', ''); setInterval(() => {}, 1000)`;
    const { pid } = await launchSupervisor({
      node: process.execPath,
      script: SUPERVISOR,
      request: { storeDir, spec: { id, name: 'crashing', command: process.execPath, args: ['-e', changeScript(repo, id, body)], cwd: repo } },
    });
    await waitFor('the agent to be half done', () => fsp.access(path.join(repo, 'half-done')).then(() => true, () => false), 20_000);
    process.kill(pid, 'SIGKILL');
    await waitFor('the supervisor to die', () => !signalZeroSucceeds(pid));
    const before = await readRow(storeDir, id);
    assert.equal(before?.status, 'running');
    assert.ok(before?.git?.start && !before.git.end, 'the start snapshot only');

    const recovered = await runCli(['--store', storeDir, 'recover', '--json']);
    assert.equal(recovered.code, 0, recovered.stderr);
    const row = await readRow(storeDir, id);
    assert.equal(row?.status, 'interrupted');
    assert.ok(row?.git?.end, 'recovery took the end snapshot');
    const range = await changeRange(row.git, { allowSnapshotNow: false });
    assert.ok(range.ok);
    assert.deepEqual((await listChanges(range.root, range.from.tree, range.to.tree)).map((c) => [c.path, c.status]), [
      ['a.txt', 'modified'],
      ['half-done', 'added'],
      ['old.txt', 'deleted'],
    ]);
  } finally {
    await cleanup();
  }
});
