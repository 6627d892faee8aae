import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidePlace, placeWording, type PlaceFacts } from '../../src/extension/model/runPlace';

const facts = (extra: Partial<PlaceFacts>): PlaceFacts => ({ requested: undefined, profileName: 'claude', profileWorktree: false, trusted: true, source: { ok: true }, ...extra });
const notRepo = { ok: false as const, reason: '/w is not in a git repository, so the run cannot get a worktree of its own' };

test('where a run works: offered when both are possible, starting from the profile\'s "worktree"', () => {
  assert.deepEqual(decidePlace(facts({})), { kind: 'offer', preferred: 'folder' });
  assert.deepEqual(decidePlace(facts({ profileWorktree: true })), { kind: 'offer', preferred: 'worktree' });
  assert.deepEqual(decidePlace(facts({ requested: true })), { kind: 'use', place: 'worktree' });
  assert.deepEqual(decidePlace(facts({ requested: false, profileWorktree: true })), { kind: 'use', place: 'folder' });
});

test('where a run works: no question outside a repository, and no git at all in Restricted Mode', () => {
  assert.deepEqual(decidePlace(facts({ source: notRepo })), { kind: 'use', place: 'folder' }, 'nothing to choose');
  assert.deepEqual(decidePlace(facts({ source: notRepo, profileWorktree: true })), {
    kind: 'confirmFolder',
    message: 'The agent profile "claude" runs in a new worktree, but /w is not in a git repository, so the run cannot get a worktree of its own. Run it in the folder itself?',
  });
  assert.deepEqual(decidePlace(facts({ source: notRepo, requested: true })), { kind: 'refuse', reason: 'Cannot run in a new worktree: /w is not in a git repository, so the run cannot get a worktree of its own.' });

  assert.deepEqual(decidePlace(facts({ trusted: false, source: null })), { kind: 'use', place: 'folder' });
  const profileWants = decidePlace(facts({ trusted: false, source: null, profileWorktree: true }));
  assert.equal(profileWants.kind, 'refuse');
  assert.match(profileWants.kind === 'refuse' ? profileWants.reason : '', /^The agent profile "claude" runs in a new worktree \("worktree": true\)\. .*git does not run in Restricted Mode/);
  const asked = decidePlace(facts({ trusted: false, source: null, requested: true }));
  assert.match(asked.kind === 'refuse' ? asked.reason : '', /^Running in a new worktree needs git, and git does not run in Restricted Mode/);
});

test('the prompt box says where the run goes, and its button offers the other place', () => {
  assert.deepEqual(placeWording('folder', 'claude', 'my-app'), { prompt: 'What should claude do? It runs in my-app.', toggle: 'Run in a new worktree (a branch and folder of its own)' });
  assert.deepEqual(placeWording('worktree', 'claude', 'my-app'), { prompt: 'What should claude do? It runs in a new worktree of my-app, on a new branch agent-tasks/…', toggle: 'Run in my-app itself' });
});
