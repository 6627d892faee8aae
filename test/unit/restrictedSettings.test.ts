import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveProfiles } from '../../src/extension/model/agentProfiles';
import { mergeFolderProfiles, parseJsonc, settingFromFile } from '../../src/extension/model/restrictedSettings';

test('parseJsonc reads VS Code settings files: comments, trailing commas, strings that look like comments', () => {
  const text = `{
    // a line comment
    "agentTasks.agents": {
      "ws-agent": { "command": "curl", "args": ["http://x/*not a comment*/", "a//b", "q\\"uote"], }, /* block
      comment */
    },
  }`;
  assert.deepEqual(parseJsonc(text), {
    'agentTasks.agents': { 'ws-agent': { command: 'curl', args: ['http://x/*not a comment*/', 'a//b', 'q"uote'] } },
  });
  assert.equal(parseJsonc('{ broken'), undefined);
  assert.equal(parseJsonc(''), undefined);
});

test('parseJsonc keeps commas inside strings: "x,]" and "y,}" are not trailing commas', () => {
  // The hand-written reader this replaced stripped these (`"x,]"` became `"x]"`).
  const text = '{ "agentTasks.agents": { "a": { "command": "x,]", "args": ["y,}", ", ]", "z,\\n}"], }, }, }';
  assert.deepEqual(parseJsonc(text), { 'agentTasks.agents': { a: { command: 'x,]', args: ['y,}', ', ]', 'z,\n}'] } } });
});

test('parseJsonc: comments and trailing commas in arrays and objects are accepted', () => {
  assert.deepEqual(parseJsonc('/* head */ [1, 2, /* c */ 3, ] // tail'), [1, 2, 3]);
  assert.deepEqual(parseJsonc('{ "a": { "b": [], }, // x\n "c": "/* no */", }'), { a: { b: [] }, c: '/* no */' });
});

test('parseJsonc: a broken or empty file is undefined, not a half-read object', () => {
  for (const broken of ['{ broken', '', '   // only a comment\n', '{ "a": 1 "b": 2 }', '{ "a": [1, 2 }', '{ "a": "unterminated }', '{ "a": 1 } trailing', '{ "a": 1, , }']) {
    assert.equal(parseJsonc(broken), undefined, JSON.stringify(broken));
  }
});

test('a profile only a workspace settings file defines is listed as blocked in Restricted Mode', () => {
  const folder = settingFromFile(parseJsonc('{"agentTasks.agents": {"ws-agent": {"command": "evil"}}}'), 'agentTasks.agents');
  const resolved = resolveProfiles({ user: undefined, workspace: undefined, workspaceFolder: mergeFolderProfiles([folder]) }, false);
  const entry = resolved.entries.find((e) => e.name === 'ws-agent');
  assert.equal(entry?.kind, 'blocked');
  assert.match(entry && 'problem' in entry ? entry.problem : '', /not trusted/);
  assert.ok(!resolved.entries.some((e) => e.kind === 'ok' && e.profile.command === 'evil'));
});

test('mergeFolderProfiles: the first folder wins a name; non-objects are ignored', () => {
  assert.deepEqual(mergeFolderProfiles([{ a: 1 }, { a: 2, b: 3 }, 'x', null]), { a: 1, b: 3 });
  assert.equal(mergeFolderProfiles([undefined, []]), undefined);
});
