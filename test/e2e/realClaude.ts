/**
 * The REAL Claude Code CLI in the e2e suite: the pinned install of the real-agent suite
 * (test/agents/agentSetup.ts, cached in ~/.cache/agent-tasks-agents), run by the extension through
 * an `agentTasks.agents` profile against the scripted mock model server
 * (test/agents/mockModelServer.ts) on 127.0.0.1 — offline, with a private HOME.
 *
 * The profile's environment is the one the real-agent suite gives Claude (harness.ts, claude
 * driver): ANTHROPIC_BASE_URL + a fake ANTHROPIC_API_KEY, no nonessential traffic, no retries, and
 * HTTPS_PROXY/HTTP_PROXY pointing at the mock, so anything else Claude tries to reach is recorded
 * there (and refused) instead of leaving the machine: `strayRequests()` must stay empty.
 *
 * Not imported from harness.ts: that module scrubs process.env when loaded and pulls in the task
 * store; the e2e process only needs the install and the mock.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BUILTIN_PROFILES } from '../../src/extension/model/agentProfiles';
import { claudeOfflineEnv } from '../agents/agentEnv';
import { withoutTwoWayFlags } from '../agents/claudeArgs';
import { ensureAgents, type AgentTool } from '../agents/agentSetup';
import { startMockModelServer, type MockModelServer, type Step } from '../agents/mockModelServer';
import type { Logger } from './e2eSetup';

/**
 * Variables the extension host must not pass on to an agent under test (real credentials, real
 * agent config, the machine's proxies): each maps to undefined, i.e. removed from code-server's
 * environment (`CodeServer.start({ env })`). Same list as test/agents/run.ts.
 */
export function scrubbedAgentEnv(env: NodeJS.ProcessEnv = process.env): Record<string, undefined> {
  const scrubbed = /^(ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_|GEMINI_|GOOGLE_|VERTEX|AWS_|AZURE_|HTTPS?_PROXY$|ALL_PROXY$|NO_PROXY$|NODE_OPTIONS$|NODE_EXTRA_CA_CERTS$)/i;
  return Object.fromEntries(Object.keys(env).filter((k) => scrubbed.test(k)).map((k) => [k, undefined]));
}

export interface RealClaude {
  readonly tool: AgentTool;
  readonly server: MockModelServer;
  /** Claude's private HOME (its ~/.claude with the session transcripts). */
  readonly home: string;
  /** An `agentTasks.agents` profile: the built-in `claude` profile (it asks: two-way stdio), this install, the mock's environment. */
  readonly profile: Record<string, unknown>;
  /** The same without the asking (no `interactive`, no two-way flags): a plain `claude -p` run, whose refused calls are denials. */
  readonly plainProfile: Record<string, unknown>;
  /** Requests that were not to the model endpoint (through the proxy trap or not). */
  strayRequests(): string[];
  close(): Promise<void>;
}

/** Installs or reuses the pinned Claude Code, starts the mock with `steps`, and builds the profile (folders under `root`). */
export async function startRealClaude(options: { root: string; steps: readonly Step[]; log: Logger }): Promise<RealClaude> {
  const tool = (await ensureAgents({ only: ['claude'], log: options.log })).claude;
  const home = path.join(options.root, 'home');
  const tmp = path.join(options.root, 'tmp');
  for (const dir of [home, tmp]) fs.mkdirSync(dir, { recursive: true });
  const server = await startMockModelServer(options.steps, { maxStepMs: 45_000, log: process.env.E2E_DEBUG ? options.log : undefined });
  const origin = server.origin;
  const builtin = BUILTIN_PROFILES.find((p) => p.name === 'claude');
  if (builtin === undefined) throw new Error('no built-in "claude" profile in BUILTIN_PROFILES');
  const env = claudeOfflineEnv({ home, tmp }, origin);
  const profile: Record<string, unknown> = {
    command: tool.bin,
    args: [...builtin.args],
    ...(builtin.resumeArgs ? { resumeArgs: [...builtin.resumeArgs] } : {}),
    format: builtin.format,
    // The built-in takes the prompt on stdin (its args hold no ${prompt}).
    promptInput: builtin.promptInput,
    ...(builtin.interactive ? { interactive: true } : {}),
    env,
  };
  const plainProfile: Record<string, unknown> = { ...profile, args: withoutTwoWayFlags(builtin.args), resumeArgs: withoutTwoWayFlags(builtin.resumeArgs ?? []) };
  delete plainProfile.interactive;
  return {
    tool,
    server,
    home,
    profile,
    plainProfile,
    // Claude's first probe of its base URL (`HEAD /`) is its own connectivity check, to the mock.
    strayRequests: () => server.requests.filter((r) => r.step === null && !(r.method === 'HEAD' && r.path === '/')).map((r) => `${r.method} ${r.path}`),
    close: () => server.close(),
  };
}
