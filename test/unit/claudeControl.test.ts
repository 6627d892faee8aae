import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  allowAnswer,
  alwaysAllowAnswer,
  controlErrorLine,
  controlResponseLine,
  denyAnswer,
  describeSuggestion,
  describeToolRequest,
  MAX_INPUT_JSON_CHARS,
  parseControlLine,
  questionAnswer,
  requestIdOfTruncatedLine,
  summarizeToolInput,
  userMessageLine,
  type ControlLine,
  type ToolRequest,
} from '../../src/core/claudeControl';
import { LineSplitter } from '../../src/core/lineSplitter';

const REAL = path.join(__dirname, '../../../test/fixtures/agent-output/real');

function fixtureLines(name: string): unknown[] {
  return readFileSync(path.join(REAL, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}

function controlLines(name: string): ControlLine[] {
  return fixtureLines(name)
    .map(parseControlLine)
    .filter((c): c is ControlLine => c !== null);
}

function toolRequest(line: ControlLine | null | undefined): ToolRequest {
  assert.equal(line?.kind, 'tool-request', JSON.stringify(line));
  return (line as Extract<ControlLine, { kind: 'tool-request' }>).request;
}

/** A can_use_tool line as the CLI writes it, with `request` fields replaced. */
function canUseTool(request: Record<string, unknown>, requestId: unknown = 'req-1'): unknown {
  return {
    type: 'control_request',
    request_id: requestId,
    request: { subtype: 'can_use_tool', tool_name: 'Bash', input: { command: 'ls' }, tool_use_id: 'toolu_1', ...request },
  };
}

function parseLine(line: string): unknown {
  assert.ok(line.endsWith('\n'), 'one line, with its newline');
  assert.equal(line.indexOf('\n'), line.length - 1, 'exactly one line');
  return JSON.parse(line);
}

const BASH_SUGGESTIONS = [
  { type: 'addRules', rules: [{ toolName: 'Bash', ruleContent: 'touch made.txt' }], behavior: 'allow', destination: 'localSettings' },
  { type: 'addDirectories', directories: ['/tmp/agent-sandbox/work'], destination: 'session' },
  { type: 'setMode', mode: 'acceptEdits', destination: 'session' },
];

// ---------------------------------------------------------------------------------------------
// The real CLI's lines (2.1.197)

test('real fixtures: every line parses without throwing; only control lines are control lines', () => {
  for (const name of ['claude-control-bash-allow.jsonl', 'claude-control-bash-deny.jsonl', 'claude-control-ask-question.jsonl', 'claude-control-interrupt.jsonl', 'claude-control-write-outside.jsonl']) {
    for (const value of fixtureLines(name)) {
      const parsed = parseControlLine(value);
      const type = (value as { type: string }).type;
      if (type.startsWith('control_')) assert.notEqual(parsed, null, `${name}: ${type}`);
      else assert.equal(parsed, null, `${name}: ${type} is not a control line`);
      assert.notEqual(parsed?.kind, 'unknown', `${name}: ${JSON.stringify(parsed)}`);
    }
  }
});

test('real fixture bash-allow: the Bash request, whole', () => {
  const lines = controlLines('claude-control-bash-allow.jsonl');
  assert.equal(lines.length, 1);
  assert.deepEqual(toolRequest(lines[0]), {
    requestId: '8f5ab819-8124-4bbe-a40a-43e9983ade1c',
    tool: 'Bash',
    input: { command: 'touch made.txt', description: 'Run the requested command' },
    toolUseId: 'toolu_mocke4c0ae87d1d659fb',
    suggestions: BASH_SUGGESTIONS,
    blockedPath: '/tmp/agent-sandbox/work/made.txt',
    description: 'Run the requested command',
  });
});

test('real fixture bash-allow / bash-deny: our answers are the lines the CLI accepted', () => {
  // The exact lines written to the real CLI's stdin when the fixtures were recorded.
  const allow = toolRequest(controlLines('claude-control-bash-allow.jsonl')[0]);
  assert.equal(
    controlResponseLine(allow.requestId, allowAnswer(allow)),
    '{"type":"control_response","response":{"subtype":"success","request_id":"8f5ab819-8124-4bbe-a40a-43e9983ade1c","response":{"behavior":"allow","updatedInput":{"command":"touch made.txt","description":"Run the requested command"}}}}\n',
  );
  const deny = toolRequest(controlLines('claude-control-bash-deny.jsonl')[0]);
  assert.equal(
    controlResponseLine(deny.requestId, denyAnswer('The user refused this command.')),
    '{"type":"control_response","response":{"subtype":"success","request_id":"11cbe29b-c503-4724-9d34-867816353476","response":{"behavior":"deny","message":"The user refused this command."}}}\n',
  );
  // What the CLI made of them: the command ran (its tool_result), resp. the model read the message.
  const ran = fixtureLines('claude-control-bash-allow.jsonl').find((l) => (l as { type: string }).type === 'user');
  assert.match(JSON.stringify(ran), /"content":"\(Bash completed with no output\)","is_error":false/);
  const refused = fixtureLines('claude-control-bash-deny.jsonl');
  assert.match(JSON.stringify(refused.find((l) => (l as { type: string }).type === 'user')), /"content":"The user refused this command.","is_error":true/);
  assert.match(JSON.stringify(refused.at(-1)), /"permission_denials":\[\{"tool_name":"Bash"/);
});

test('real fixture ask-question: the questions, and the answer the CLI accepted', () => {
  const request = toolRequest(controlLines('claude-control-ask-question.jsonl')[0]);
  assert.equal(request.tool, 'AskUserQuestion');
  assert.deepEqual(request.suggestions, [], 'AskUserQuestion comes without suggestions');
  assert.deepEqual(request.questions, [
    { question: 'Which color should the button be?', header: 'Color', multiSelect: false, options: [{ label: 'Red', description: 'A warm red' }, { label: 'Blue', description: 'A calm blue' }] },
    {
      question: 'Which extras do you want?', header: 'Extras', multiSelect: true,
      options: [{ label: 'Shadow', description: 'A drop shadow' }, { label: 'Border', description: 'A thin border' }, { label: 'Icon', description: 'A leading icon' }],
    },
  ]);
  const line = controlResponseLine(request.requestId, questionAnswer(request, [{ labels: ['Blue'] }, { labels: ['Shadow', 'Border'] }]));
  assert.equal(
    line,
    '{"type":"control_response","response":{"subtype":"success","request_id":"5e08db21-3e48-4cb1-acd7-a8c8e8a228d6","response":{"behavior":"allow","updatedInput":{"questions":[{"question":"Which color should the button be?","header":"Color","options":[{"label":"Red","description":"A warm red"},{"label":"Blue","description":"A calm blue"}],"multiSelect":false},{"question":"Which extras do you want?","header":"Extras","options":[{"label":"Shadow","description":"A drop shadow"},{"label":"Border","description":"A thin border"},{"label":"Icon","description":"A leading icon"}],"multiSelect":true}],"answers":{"Which color should the button be?":"Blue","Which extras do you want?":"Shadow, Border"}}}}}\n',
  );
  const told = fixtureLines('claude-control-ask-question.jsonl').find((l) => (l as { type: string }).type === 'user');
  assert.match(JSON.stringify(told), /Your questions have been answered: \\"Which color should the button be\?\\"=\\"Blue\\", \\"Which extras do you want\?\\"=\\"Shadow, Border\\"/);
  assert.equal(summarizeToolInput(request.tool, request.input), 'Which color should the button be? (+1 more)');
});

test('real fixture interrupt: the CLI withdraws its request (cancel) and answers ours (response)', () => {
  const lines = controlLines('claude-control-interrupt.jsonl');
  assert.deepEqual(lines.map((l) => l.kind), ['tool-request', 'cancel', 'response']);
  assert.deepEqual(lines[1], { kind: 'cancel', requestId: toolRequest(lines[0]).requestId });
  assert.deepEqual(lines[2], { kind: 'response', requestId: 'agent-tasks-interrupt-1' });
});

test('real fixture write-outside: a Write outside the folder carries a reason; a compound command several rules', () => {
  const [write, bash] = controlLines('claude-control-write-outside.jsonl').map(toolRequest);
  assert.equal(write.tool, 'Write');
  assert.equal(write.decisionReason, 'Path is outside allowed working directories');
  assert.equal(write.decisionReasonType, 'workingDir');
  assert.equal(write.blockedPath, undefined);
  assert.equal(summarizeToolInput(write.tool, write.input), '/tmp/agent-sandbox/outside/note.txt');
  assert.equal(
    describeToolRequest(write),
    [
      'Write: write a file',
      'File: /tmp/agent-sandbox/outside/note.txt',
      'Content (2 lines):',
      '  first line',
      '  second line',
      'Reason: Path is outside allowed working directories',
      '"Always allow" would:',
      '  - switch to the acceptEdits mode (file edits are accepted without asking), for this session',
      '  - give access to /tmp/agent-sandbox/outside, for this session',
    ].join('\n'),
  );
  assert.equal(bash.decisionReasonType, 'subcommandResults');
  assert.match(describeToolRequest(bash), /^ {2}- allow Bash\(rm -rf build\), Read\(\/\/etc\/\*\*\), saved in the project's \.claude\/settings\.local\.json$/m);
});

test('real fixture bash-allow: the details a user reads, "always allow" in words', () => {
  const request = toolRequest(controlLines('claude-control-bash-allow.jsonl')[0]);
  assert.equal(
    describeToolRequest(request),
    [
      'Bash: run a command',
      '  touch made.txt',
      'Description: Run the requested command',
      'Blocked path: /tmp/agent-sandbox/work/made.txt',
      '"Always allow" would:',
      "  - allow Bash(touch made.txt), saved in the project's .claude/settings.local.json",
      '  - give access to /tmp/agent-sandbox/work, for this session',
      '  - switch to the acceptEdits mode (file edits are accepted without asking), for this session',
    ].join('\n'),
  );
  const always = parseLine(controlResponseLine(request.requestId, alwaysAllowAnswer(request)));
  assert.deepEqual(always, {
    type: 'control_response',
    response: { subtype: 'success', request_id: request.requestId, response: { behavior: 'allow', updatedInput: request.input, updatedPermissions: BASH_SUGGESTIONS } },
  });
  const some = parseLine(controlResponseLine(request.requestId, alwaysAllowAnswer(request, request.suggestions.slice(0, 1)))) as { response: { response: { updatedPermissions: unknown } } };
  assert.deepEqual(some.response.response.updatedPermissions, BASH_SUGGESTIONS.slice(0, 1));
});

// ---------------------------------------------------------------------------------------------
// Malformed and unknown lines

test('not a control line: null', () => {
  for (const value of [null, undefined, 42, 'control_request', true, [], [{ type: 'control_request' }], {}, { type: 'assistant' }, { type: 'result' }, { type: 'keep_alive' }, { type: 42 }]) {
    assert.equal(parseControlLine(value), null, JSON.stringify(value));
  }
});

test('control_request without a usable request_id: unknown, nothing to answer', () => {
  for (const id of [undefined, null, '', 7, {}, ['x'], 'x'.repeat(1025)]) {
    const line = canUseTool({}, id) as Record<string, unknown>;
    if (id === undefined) delete line.request_id;
    const parsed = parseControlLine(line);
    assert.equal(parsed?.kind, 'unknown');
    assert.equal((parsed as { requestId?: string }).requestId, undefined, `request_id ${JSON.stringify(id)?.slice(0, 20)}`);
    assert.match((parsed as { reason: string }).reason, /request_id/);
  }
  assert.equal(parseControlLine(canUseTool({}, 'x'.repeat(1024)))?.kind, 'tool-request', '1024 characters are fine');
});

test('control_request the CLI waits on but we cannot use: unknown with its id, so it gets an error answer', () => {
  const cases: [unknown, string | undefined, RegExp][] = [
    [{ type: 'control_request', request_id: 'r' }, undefined, /without a request object/],
    [{ type: 'control_request', request_id: 'r', request: 'can_use_tool' }, undefined, /without a request object/],
    [{ type: 'control_request', request_id: 'r', request: {} }, undefined, /without a subtype/],
    [{ type: 'control_request', request_id: 'r', request: { subtype: 5 } }, undefined, /without a subtype/],
    [{ type: 'control_request', request_id: 'r', request: { subtype: 'hook_callback', callback_id: 'x' } }, 'hook_callback', /unsupported control request subtype: hook_callback/],
    [{ type: 'control_request', request_id: 'r', request: { subtype: 'elicitation' } }, 'elicitation', /unsupported/],
    [{ type: 'control_request', request_id: 'r', request: { subtype: 'initialize' } }, 'initialize', /unsupported/],
    [canUseTool({ tool_name: undefined }), 'can_use_tool', /tool_name/],
    [canUseTool({ tool_name: 42 }), 'can_use_tool', /tool_name/],
    [canUseTool({ tool_name: '  ' }), 'can_use_tool', /tool_name/],
    [canUseTool({ tool_name: 'T'.repeat(257) }), 'can_use_tool', /tool_name/],
    [canUseTool({ input: undefined }), 'can_use_tool', /input object/],
    [canUseTool({ input: 'ls' }), 'can_use_tool', /input object/],
    [canUseTool({ input: ['ls'] }), 'can_use_tool', /input object/],
    [canUseTool({ input: null }), 'can_use_tool', /input object/],
  ];
  for (const [value, subtype, reason] of cases) {
    const parsed = parseControlLine(value);
    assert.equal(parsed?.kind, 'unknown', JSON.stringify(value).slice(0, 200));
    const u = parsed as Extract<ControlLine, { kind: 'unknown' }>;
    assert.equal(u.requestId, (value as { request_id: string }).request_id);
    assert.equal(u.subtype, subtype);
    assert.match(u.reason, reason);
  }
});

test('an unknown subtype is cleaned and capped before it reaches a reason', () => {
  const parsed = parseControlLine({ type: 'control_request', request_id: 'r', request: { subtype: `evil\x1b[31m\u202e${'x'.repeat(500)}` } }) as Extract<ControlLine, { kind: 'unknown' }>;
  assert.equal(parsed.kind, 'unknown');
  assert.doesNotMatch(parsed.reason, /[\x00-\x1f\u202e]/);
  assert.ok(parsed.subtype !== undefined && parsed.subtype.length <= 100);
  assert.ok(parsed.reason.length < 200);
});

test('a huge input is refused (with the id, to be answered), a large one is kept verbatim', () => {
  const huge = parseControlLine(canUseTool({ tool_name: 'Write', input: { file_path: 'f', content: 'x'.repeat(MAX_INPUT_JSON_CHARS) } }));
  assert.equal(huge?.kind, 'unknown');
  assert.equal((huge as { requestId?: string }).requestId, 'req-1');
  assert.match((huge as { reason: string }).reason, /too large/);
  const content = 'y'.repeat(500_000);
  const big = toolRequest(parseControlLine(canUseTool({ tool_name: 'Write', input: { file_path: 'f', content } })));
  assert.equal(big.input.content, content, 'the input is kept whole: an allow echoes it');
  assert.ok(describeToolRequest(big).length < 6000, 'but the details are capped');
  assert.ok(summarizeToolInput(big.tool, big.input).length <= 200);
});

test('optional fields of the wrong type are dropped; malformed suggestions become []', () => {
  const request = toolRequest(parseControlLine(canUseTool({
    tool_use_id: 5, blocked_path: ['x'], decision_reason: {}, decision_reason_type: 1, description: null, agent_id: '',
    permission_suggestions: [{ type: 'setMode', mode: 'plan', destination: 'session' }, 'not an object'],
  })));
  assert.deepEqual(request, { requestId: 'req-1', tool: 'Bash', input: { command: 'ls' }, suggestions: [] });
  assert.deepEqual(toolRequest(parseControlLine(canUseTool({ permission_suggestions: { type: 'setMode' } }))).suggestions, []);
  const agent = toolRequest(parseControlLine(canUseTool({ agent_id: 'agent-7' })));
  assert.equal(agent.agentId, 'agent-7');
  assert.match(describeToolRequest(agent), /^From subagent: agent-7$/m);
});

test('control_cancel_request and control_response', () => {
  assert.deepEqual(parseControlLine({ type: 'control_cancel_request', request_id: 'abc' }), { kind: 'cancel', requestId: 'abc' });
  assert.deepEqual(parseControlLine({ type: 'control_cancel_request' }), { kind: 'unknown', reason: 'control_cancel_request without a valid request_id' });
  assert.deepEqual(parseControlLine({ type: 'control_cancel_request', request_id: 3 }), { kind: 'unknown', reason: 'control_cancel_request without a valid request_id' });
  assert.deepEqual(parseControlLine({ type: 'control_response', response: { subtype: 'success', request_id: 'ours' } }), { kind: 'response', requestId: 'ours' });
  assert.deepEqual(
    parseControlLine({ type: 'control_response', response: { subtype: 'error', request_id: 'ours', error: 'Unsupported control request subtype: no_such_subtype' } }),
    { kind: 'response', requestId: 'ours', error: 'Unsupported control request subtype: no_such_subtype' },
  );
  assert.deepEqual(parseControlLine({ type: 'control_response', response: { subtype: 'odd', request_id: 'ours' } }), { kind: 'response', requestId: 'ours', error: 'control_response of subtype "odd"' });
  // A response never yields an id to answer, even when malformed.
  for (const value of [{ type: 'control_response' }, { type: 'control_response', response: 'x' }, { type: 'control_response', response: { subtype: 'success' } }]) {
    assert.deepEqual(parseControlLine(value), { kind: 'unknown', reason: 'control_response without a valid request_id' });
  }
});

test('parseControlLine never throws, whatever it is given', () => {
  const hostile: unknown[] = [
    Object.create(null),
    { type: 'control_request', request_id: 'r', request: Object.create(null) },
    { type: 'control_request', request_id: 'r', request: { subtype: 'can_use_tool', tool_name: 'X', input: { big: BigInt(1) } } },
    { type: 'control_request', request_id: 'r', request: { subtype: 'can_use_tool', tool_name: 'X', input: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })() } },
    { type: 'control_request', request_id: 'r', get request() { return { subtype: 'can_use_tool', tool_name: 'X', input: {} }; } },
    JSON.parse('{"type":"control_request","request_id":"r","request":{"subtype":"can_use_tool","tool_name":"__proto__","input":{"__proto__":{"x":1}}}}'),
  ];
  for (const value of hostile) assert.doesNotThrow(() => parseControlLine(value));
  assert.match((parseControlLine(hostile[2]) as { reason: string }).reason, /not JSON/);
  assert.match((parseControlLine(hostile[3]) as { reason: string }).reason, /not JSON/);
});

// ---------------------------------------------------------------------------------------------
// AskUserQuestion

function askRequest(questions: unknown): ToolRequest {
  return toolRequest(parseControlLine(canUseTool({ tool_name: 'AskUserQuestion', input: { questions } })));
}

const Q_SINGLE = { question: 'Which color?', header: 'Color', options: [{ label: 'Red', description: 'warm' }, { label: 'Blue', description: 'calm' }], multiSelect: false };
const Q_MULTI = { question: 'Which extras?', header: 'Extras', options: [{ label: 'Shadow', description: '' }, { label: 'Border', description: 'thin' }], multiSelect: true };

test('AskUserQuestion: well-formed questions are parsed, with defaults for header, description and multiSelect', () => {
  assert.deepEqual(askRequest([{ question: 'Why?', options: [{ label: 'A' }, { label: 'B', description: 'b', preview: 'code' }] }]).questions, [
    { question: 'Why?', header: '', multiSelect: false, options: [{ label: 'A', description: '' }, { label: 'B', description: 'b', preview: 'code' }] },
  ]);
});

test('AskUserQuestion: malformed questions leave `questions` unset (the request stays a plain tool request)', () => {
  const bad: unknown[] = [
    undefined, 'Which?', [], {}, [null], [{}], [{ question: '', options: [{ label: 'A' }] }],
    [{ question: 'Q', options: [] }], [{ question: 'Q', options: 'A, B' }], [{ question: 'Q', options: [{ label: '' }] }],
    [{ question: 'Q', options: [{ label: 3 }] }], [{ question: 'Q', options: [{ label: 'A', description: 3 }] }],
    [{ question: 'Q', options: [{ label: 'A', preview: {} }] }], [{ question: 'Q', header: 1, options: [{ label: 'A' }] }],
    [{ question: 'Q', multiSelect: 'yes', options: [{ label: 'A' }] }],
    [Q_SINGLE, Q_SINGLE], // the same question twice: the answers would collide
    Array.from({ length: 17 }, (_, i) => ({ ...Q_SINGLE, question: `Q${i}` })),
    [{ question: 'Q', options: Array.from({ length: 33 }, (_, i) => ({ label: `L${i}` })) }],
  ];
  for (const questions of bad) {
    const request = askRequest(questions);
    assert.equal(request.questions, undefined, JSON.stringify(questions)?.slice(0, 100));
    assert.throws(() => questionAnswer(request, []), /no well-formed questions/);
    assert.match(describeToolRequest(request), /^AskUserQuestion: use a tool\nInput:\n/);
  }
  // Not AskUserQuestion: never questions, whatever the input.
  assert.equal(toolRequest(parseControlLine(canUseTool({ tool_name: 'Other', input: { questions: [Q_SINGLE] } }))).questions, undefined);
});

test('questionAnswer: labels, free text, multiSelect, unanswered questions', () => {
  const request = askRequest([Q_SINGLE, Q_MULTI]);
  const answers = (choices: Parameters<typeof questionAnswer>[1]): unknown => {
    const answer = questionAnswer(request, choices);
    assert.equal(answer.behavior, 'allow');
    const input = (answer as { updatedInput: Record<string, unknown> }).updatedInput;
    assert.deepEqual(input.questions, request.input.questions, 'the input is kept');
    return input.answers;
  };
  assert.deepEqual(answers([{ labels: ['Blue'] }, { labels: ['Shadow', 'Border'] }]), { 'Which color?': 'Blue', 'Which extras?': 'Shadow, Border' });
  assert.deepEqual(answers([{ labels: ['Red', 'Blue'] }, { labels: [] }]), { 'Which color?': 'Red' }, 'single select: the first label; an empty choice is unanswered');
  assert.deepEqual(answers([{ labels: ['Red'], text: '  Green, like grass ' }, { labels: ['Shadow'], text: 'Glow' }]), { 'Which color?': 'Green, like grass', 'Which extras?': 'Shadow, Glow' });
  assert.deepEqual(answers([undefined, { text: '   ' }]), {});
  assert.deepEqual(answers([]), {});
  // The line the CLI reads.
  const line = parseLine(controlResponseLine('q-1', questionAnswer(request, [{ labels: ['Blue'] }]))) as { response: { response: unknown } };
  assert.deepEqual(line.response.response, { behavior: 'allow', updatedInput: { questions: [Q_SINGLE, Q_MULTI], answers: { 'Which color?': 'Blue' } } });
});

test('questionAnswer: a question text such as "__proto__" stays an answer key', () => {
  const request = askRequest([{ ...Q_SINGLE, question: '__proto__' }]);
  const line = controlResponseLine('q', questionAnswer(request, [{ labels: ['Red'] }]));
  assert.match(line, /"answers":\{"__proto__":"Red"\}/);
});

test('AskUserQuestion details: questions and options as plain text, cleaned', () => {
  const request = askRequest([{ ...Q_SINGLE, question: 'Which\u202e color?\nReally?' }, Q_MULTI]);
  assert.equal(
    describeToolRequest(request),
    [
      'AskUserQuestion: Claude asks you',
      '[Color] Which\\u202e color?\\nReally? (choose one)',
      '  1. Red - warm',
      '  2. Blue - calm',
      '[Extras] Which extras? (choose any)',
      '  1. Shadow',
      '  2. Border - thin',
    ].join('\n'),
  );
});

// ---------------------------------------------------------------------------------------------
// Writing stdin

test('response lines round-trip: one JSON line each, exactly the protocol shape', () => {
  const request = toolRequest(parseControlLine(canUseTool({ input: { command: 'echo "a\nb" \u2028 \u2029 \x00' } })));
  const allow = controlResponseLine('r-1', allowAnswer(request));
  assert.doesNotMatch(allow, /[\u2028\u2029]/, 'no line separators left raw for line readers');
  assert.deepEqual(parseLine(allow), { type: 'control_response', response: { subtype: 'success', request_id: 'r-1', response: { behavior: 'allow', updatedInput: request.input } } });
  assert.deepEqual(parseLine(controlResponseLine('r-2', denyAnswer('No.\nNever.'))), {
    type: 'control_response', response: { subtype: 'success', request_id: 'r-2', response: { behavior: 'deny', message: 'No.\nNever.' } },
  });
  assert.deepEqual(parseLine(controlResponseLine('r-3', denyAnswer('Stop.', { interrupt: true }))), {
    type: 'control_response', response: { subtype: 'success', request_id: 'r-3', response: { behavior: 'deny', message: 'Stop.', interrupt: true } },
  });
  assert.equal(controlErrorLine('r-4', 'Agent Tasks does not support "hook_callback"'), '{"type":"control_response","response":{"subtype":"error","request_id":"r-4","error":"Agent Tasks does not support \\"hook_callback\\""}}\n');
  assert.equal(userMessageLine('Create made.txt'), '{"type":"user","message":{"role":"user","content":"Create made.txt"}}\n');
  assert.deepEqual(parseLine(userMessageLine('- two\nlines \u2028')), { type: 'user', message: { role: 'user', content: '- two\nlines \u2028' } });
});

test('response lines carry only the protocol fields, and refuse what the CLI would reject', () => {
  const sneaky = { behavior: 'allow', updatedInput: { command: 'ls' }, extra: 'x', toolUseID: 'y' } as unknown as Parameters<typeof controlResponseLine>[1];
  assert.deepEqual((parseLine(controlResponseLine('r', sneaky)) as { response: { response: unknown } }).response.response, { behavior: 'allow', updatedInput: { command: 'ls' } });
  const bad = [
    { behavior: 'allow' }, // the CLI 2.1.197 refuses an allow without updatedInput (ZodError)
    { behavior: 'allow', updatedInput: 'ls' },
    { behavior: 'allow', updatedInput: ['ls'] },
    { behavior: 'allow', updatedInput: {}, updatedPermissions: {} },
    { behavior: 'deny' },
    { behavior: 'maybe', message: 'x' },
  ] as unknown as Parameters<typeof controlResponseLine>[1][];
  for (const answer of bad) assert.throws(() => controlResponseLine('r', answer), TypeError, JSON.stringify(answer));
  for (const id of ['', 5, undefined]) {
    assert.throws(() => controlResponseLine(id as string, denyAnswer('x')), TypeError);
    assert.throws(() => controlErrorLine(id as string, 'x'), TypeError);
  }
});

test('an unknown request is answered with an error line the parser reads back', () => {
  const parsed = parseControlLine({ type: 'control_request', request_id: 'cb-1', request: { subtype: 'hook_callback' } }) as Extract<ControlLine, { kind: 'unknown' }>;
  assert.ok(parsed.requestId !== undefined);
  const line = controlErrorLine(parsed.requestId, `Unsupported control request subtype: ${parsed.subtype}`);
  assert.deepEqual(parseControlLine(parseLine(line)), { kind: 'response', requestId: 'cb-1', error: 'Unsupported control request subtype: hook_callback' });
});

test('requestIdOfTruncatedLine: the id of a control_request line cut by LineSplitter', () => {
  const id = 'e9e0ddc2-3cee-423a-a965-739471321eab';
  const line = JSON.stringify(canUseTool({ tool_name: 'Write', input: { file_path: 'f', content: 'z'.repeat(2 * 1024 * 1024) } }, id));
  const heads: string[] = [];
  const splitter = new LineSplitter((l) => {
    assert.equal(l.complete, false);
    heads.push(l.bytes.toString('utf8'));
  });
  splitter.push(Buffer.from(`${line}\n`));
  assert.equal(heads.length, 1);
  assert.equal(requestIdOfTruncatedLine(heads[0]), id);
  assert.equal(requestIdOfTruncatedLine('{"type":"control_request","request_id":"a\\"b\\u0041","request":{'), 'a"bA');
  assert.equal(requestIdOfTruncatedLine(' { "type" : "control_request" , "request_id" : "x"'), 'x');
  for (const head of ['', '{"type":"assistant","request_id":"x"', '{"request_id":"x","type":"control_request"', '{"type":"control_request","request_id":"unterminated', '{"type":"control_request","request_id":""', '{"type":"control_request","request_id":7']) {
    assert.equal(requestIdOfTruncatedLine(head), null, head);
  }
});

// ---------------------------------------------------------------------------------------------
// Text for people

test('summarizeToolInput: the field that matters, per tool', () => {
  const cases: [string, unknown, string][] = [
    ['Bash', { command: 'npm test', description: 'Run the tests' }, 'npm test'],
    ['Bash', { description: 'no command' }, '{"description":"no command"}'],
    ['Edit', { file_path: '/a/b.ts', old_string: 'x', new_string: 'y' }, '/a/b.ts'],
    ['MultiEdit', { file_path: '/a/c.ts', edits: [] }, '/a/c.ts'],
    ['Write', { file_path: '/a/d.ts', content: 'hello' }, '/a/d.ts'],
    ['Read', { file_path: '/a/e.ts' }, '/a/e.ts'],
    ['NotebookEdit', { notebook_path: '/n.ipynb', new_source: 'x' }, '/n.ipynb'],
    ['WebFetch', { url: 'https://example.com/x', prompt: 'Summarize' }, 'https://example.com/x'],
    ['WebSearch', { query: 'node test runner' }, 'node test runner'],
    ['Grep', { pattern: 'TODO', path: 'src' }, 'TODO in src'],
    ['Glob', { pattern: '**/*.ts' }, '**/*.ts'],
    ['AskUserQuestion', { questions: [Q_SINGLE] }, 'Which color?'],
    ['Task', { description: 'Find the bug', prompt: 'long' }, 'Find the bug'],
    ['mcp__github__create_issue', { title: 'Bug', body: 'x' }, '{"title":"Bug","body":"x"}'],
    ['Bash', 'not an object', '"not an object"'],
    ['Bash', undefined, ''],
    ['Bash', null, ''],
    ['Bash', { command: '   ' }, '{"command":" "}'],
  ];
  for (const [tool, input, expected] of cases) assert.equal(summarizeToolInput(tool, input), expected, `${tool} ${JSON.stringify(input)}`);
});

test('summarizeToolInput: controls, escapes and bidi marks removed, one line, capped at 200', () => {
  assert.equal(summarizeToolInput('Bash', { command: 'echo hi\n\trm -rf /tmp/x\r\n' }), 'echo hi rm -rf /tmp/x');
  assert.equal(summarizeToolInput('Bash', { command: '\x1b[31mred\x1b[0m \x07bell \x9bcsi' }), 'red bell csi');
  assert.equal(summarizeToolInput('Write', { file_path: '/tmp/\u202eexe.txt\u200b\u2066' }), '/tmp/exe.txt');
  const long = summarizeToolInput('Bash', { command: 'x'.repeat(10_000) });
  assert.equal(long.length, 200);
  assert.ok(long.endsWith('…'));
  const json = summarizeToolInput('Other', { a: 'y'.repeat(5000) });
  assert.equal(json.length, 200);
  assert.equal(summarizeToolInput('Other', { big: BigInt(1) } as unknown), '', 'what JSON cannot hold gives nothing, not an exception');
});

test('describeToolRequest: Bash shows the whole command; invisible characters are shown, not dropped', () => {
  const request = toolRequest(parseControlLine(canUseTool({ input: { command: 'echo one\r\necho "\x1b[2J" \u202etwo\u200b', description: 'Two\nlines', run_in_background: true, timeout: 5000 }, blocked_path: '/x\x07', decision_reason: '\x1b[1mRisky\x1b[0m' })));
  assert.equal(
    describeToolRequest(request),
    [
      'Bash: run a command',
      '  echo one',
      '  echo "\\x1b[2J" \\u202etwo\\u200b',
      'Description: Two\\nlines',
      'Runs in the background.',
      'Timeout: 5000 ms',
      'Blocked path: /x\\x07',
      'Reason: \\x1b[1mRisky\\x1b[0m',
    ].join('\n'),
  );
});

test('describeToolRequest: Edit and MultiEdit as a diff', () => {
  const edit = toolRequest(parseControlLine(canUseTool({ tool_name: 'Edit', input: { file_path: '/src/a.ts', old_string: 'const a = 1;\nconst b = 2;', new_string: 'const a = 3;', replace_all: true } })));
  assert.equal(describeToolRequest(edit), ['Edit: change a file', 'File: /src/a.ts', 'Replaces every occurrence.', '- const a = 1;', '- const b = 2;', '+ const a = 3;'].join('\n'));
  const multi = toolRequest(parseControlLine(canUseTool({ tool_name: 'MultiEdit', input: { file_path: '/src/b.ts', edits: [{ old_string: 'x', new_string: '' }, 'junk', { old_string: 'y', new_string: 'z', replace_all: true }] } })));
  assert.equal(
    describeToolRequest(multi),
    ['MultiEdit: change a file', 'File: /src/b.ts', 'Edit 1 of 3:', '- x', '+ (empty)', 'Edit 2 of 3:', '- (empty)', '+ (empty)', 'Edit 3 of 3 (every occurrence):', '- y', '+ z'].join('\n'),
  );
});

test('describeToolRequest: long parts are cut with a note', () => {
  const content = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n');
  const write = toolRequest(parseControlLine(canUseTool({ tool_name: 'Write', input: { file_path: '/f.txt', content } })));
  const text = describeToolRequest(write);
  assert.match(text, /^Content \(500 lines\):$/m);
  assert.match(text, /^ {2}line 59$/m);
  assert.doesNotMatch(text, /^ {2}line 60$/m);
  assert.match(text, /^ {2}… \(cut here: 500 lines, \d+ characters in all\)$/m);
  const oneLong = toolRequest(parseControlLine(canUseTool({ input: { command: '😀'.repeat(20_000) } })));
  const cut = describeToolRequest(oneLong).split('\n')[1];
  assert.ok(cut.length <= 10_002, 'the command is capped');
  assert.doesNotMatch(cut, /[\ud800-\udbff]$/, 'never half a surrogate pair');
  const edit = toolRequest(parseControlLine(canUseTool({ tool_name: 'Edit', input: { file_path: 'f', old_string: 'a\n'.repeat(100), new_string: 'b' } })));
  assert.match(describeToolRequest(edit), /^- … \(cut here: 100 lines, 200 characters in all\)$/m);
  const fields = toolRequest(parseControlLine(canUseTool({ tool_name: 'WebFetch', input: { url: `https://x/${'u'.repeat(5000)}`, prompt: 'p' } })));
  assert.ok(describeToolRequest(fields).split('\n')[1].length <= 1000 + 'URL: '.length);
});

test('describeToolRequest: other tools', () => {
  const d = (tool: string, input: Record<string, unknown>, extra: Record<string, unknown> = {}): string => describeToolRequest(toolRequest(parseControlLine(canUseTool({ tool_name: tool, input, ...extra }))));
  assert.equal(d('Read', { file_path: '/etc/passwd', offset: 10, limit: 5 }), 'Read: read a file\nFile: /etc/passwd\nFrom line: 10\nLines: 5');
  assert.equal(d('WebFetch', { url: 'https://example.com', prompt: 'Get the title' }), 'WebFetch: fetch a web page\nURL: https://example.com\nPrompt: Get the title');
  assert.equal(d('WebSearch', { query: 'q' }), 'WebSearch: search the web\nQuery: q');
  assert.equal(d('Grep', { pattern: 'TODO', path: 'src', glob: '*.ts' }), 'Grep: search files\nPattern: TODO\nIn: src\nFiles: *.ts');
  assert.equal(d('NotebookEdit', { notebook_path: '/n.ipynb', cell_id: 'c1', edit_mode: 'replace', new_source: 'print(1)' }), 'NotebookEdit: change a notebook\nNotebook: /n.ipynb\nCell: c1\nEdit: replace\nNew source:\n  print(1)');
  assert.equal(
    d('mcp__db__query', { sql: 'select 1' }, { description: 'Query the database' }),
    'mcp__db__query: use a tool\nDescription: Query the database\nInput:\n  {\n    "sql": "select 1"\n  }',
  );
  assert.equal(d('Evil\u202eTool', {}), 'Evil\\u202eTool: use a tool\nInput:\n  {}');
});

test('describeSuggestion: every PermissionUpdate in words', () => {
  const cases: [unknown, string][] = [
    [{ type: 'addRules', rules: [{ toolName: 'Bash', ruleContent: 'npm test' }, { toolName: 'Read' }], behavior: 'allow', destination: 'userSettings' }, 'allow Bash(npm test), Read, saved in your ~/.claude/settings.json'],
    [{ type: 'addRules', rules: [{ toolName: 'WebFetch', ruleContent: 'domain:x.com' }], behavior: 'deny', destination: 'projectSettings' }, "deny WebFetch(domain:x.com), saved in the project's .claude/settings.json"],
    [{ type: 'replaceRules', rules: [], behavior: 'ask', destination: 'cliArg' }, 'replace the ask rules with (none), for this run'],
    [{ type: 'removeRules', rules: [{ toolName: 'Bash' }], behavior: 'allow', destination: 'session' }, 'remove the allow rules Bash, for this session'],
    [{ type: 'setMode', mode: 'bypassPermissions', destination: 'session' }, 'switch to the bypassPermissions mode (nothing is asked any more), for this session'],
    [{ type: 'setMode', mode: 'newMode', destination: 'elsewhere' }, 'switch to the newMode mode, (elsewhere)'],
    [{ type: 'addDirectories', directories: ['/a', '/b'], destination: 'session' }, 'give access to /a, /b, for this session'],
    [{ type: 'removeDirectories', directories: ['/a'] }, 'remove access to /a'],
    [{ type: 'addDirectories', directories: ['/a\n\u202e/b'], destination: 'session' }, 'give access to /a\\n\\u202e/b, for this session'],
    [{ type: 'teleport', to: 'mars' }, 'an unknown change: {"type":"teleport","to":"mars"}'],
    ['nonsense', 'an unknown change: "nonsense"'],
  ];
  for (const [suggestion, expected] of cases) assert.equal(describeSuggestion(suggestion), expected);
});
