/**
 * Agent profiles (`agentTasks.agents`): the built-ins, validation of what users wrote in their
 * settings, and the expansion of a profile into the argv of one run. No `vscode` import: the
 * extension's config.ts reads the setting layers and hands them over.
 *
 * Safety rule: a prompt is user text and is never parsed by a shell. `${prompt}` is replaced
 * inside ONE argv element (the element stays one element, whatever the prompt holds). Profiles
 * with `shell: true` have their command line parsed by a shell, so there `${prompt}` (and
 * `${workspaceFolder}`, a path that may hold spaces or quotes) are refused: such profiles read
 * the values from environment variables instead (AGENT_TASKS_PROMPT, …), which a shell expands
 * without re-parsing when quoted ("$AGENT_TASKS_PROMPT").
 */
import { OUTPUT_FORMATS, type OutputFormat } from '../../core/taskTypes';
import { displayArg } from './format';

export const AGENTS_SETTING = 'agentTasks.agents';
export const DEFAULT_AGENT_SETTING = 'agentTasks.defaultAgent';
export const DEFAULT_AGENT = 'claude';

export const PLACEHOLDERS = ['prompt', 'sessionId', 'workspaceFolder', 'taskId'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Environment variables every run gets (child only: never journaled, never logged). */
export const ENV_PROMPT = 'AGENT_TASKS_PROMPT';
export const ENV_SESSION_ID = 'AGENT_TASKS_SESSION_ID';
export const ENV_TASK_ID = 'AGENT_TASKS_TASK_ID';
export const ENV_WORKSPACE_FOLDER = 'AGENT_TASKS_WORKSPACE_FOLDER';

export type ProfileSource = 'built-in' | 'user' | 'workspace' | 'workspaceFolder';

export interface AgentProfile {
  readonly name: string;
  readonly source: ProfileSource;
  readonly command: string;
  readonly args: readonly string[];
  readonly resumeArgs?: readonly string[];
  readonly format: OutputFormat;
  readonly env: Readonly<Record<string, string>>;
  readonly shell: boolean;
}

export type ProfileEntry =
  | { readonly kind: 'ok'; readonly name: string; readonly source: ProfileSource; readonly profile: AgentProfile }
  /** A malformed profile: `problem` names the setting. `command`/`format` are what could be salvaged, for journaling the failed run. */
  | { readonly kind: 'invalid'; readonly name: string; readonly source: ProfileSource; readonly problem: string; readonly command: string | null; readonly format: OutputFormat }
  /** Defined only in workspace settings of an untrusted workspace: not run. */
  | { readonly kind: 'blocked'; readonly name: string; readonly source: ProfileSource; readonly problem: string };

export const BUILTIN_PROFILES: readonly AgentProfile[] = [
  {
    name: 'claude',
    source: 'built-in',
    command: 'claude',
    args: ['-p', '${prompt}', '--output-format', 'stream-json', '--verbose', '--session-id', '${sessionId}'],
    resumeArgs: ['-p', '${prompt}', '--resume', '${sessionId}', '--output-format', 'stream-json', '--verbose'],
    format: 'claude-stream-json',
    env: {},
    shell: false,
  },
  {
    name: 'codex',
    source: 'built-in',
    command: 'codex',
    args: ['exec', '--json', '${prompt}'],
    resumeArgs: ['exec', 'resume', '${sessionId}', '--json', '${prompt}'],
    format: 'codex-json',
    env: {},
    shell: false,
  },
];

const SCOPE_LABEL: Record<ProfileSource, string> = {
  'built-in': 'built-in',
  user: 'user settings',
  workspace: 'workspace settings',
  workspaceFolder: 'folder settings',
};

/** `agentTasks.agents.claude`, or `agentTasks.agents["my agent"]` for names that are not plain words. */
export function profileSettingPath(name: string, field?: string): string {
  const base = /^[A-Za-z_][\w-]*$/.test(name) ? `${AGENTS_SETTING}.${name}` : `${AGENTS_SETTING}[${JSON.stringify(name)}]`;
  return field === undefined ? base : `${base}.${field}`;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const PLACEHOLDER_PATTERN = /\$\{([^}]*)\}/g;

function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER_PATTERN)].map((m) => m[1]);
}

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** Checks one profile as written in settings. Every problem is reported, each naming its field. */
export function validateProfile(name: string, raw: unknown, source: ProfileSource): ProfileEntry {
  const where = `${profileSettingPath(name)} (${SCOPE_LABEL[source]})`;
  const invalid = (problems: string[], command: string | null, format: OutputFormat): ProfileEntry => ({
    kind: 'invalid',
    name,
    source,
    problem: `${where}: ${problems.join('; ')}.`,
    command,
    format,
  });
  if (name.trim() === '') return invalid(['a profile needs a non-empty name'], null, 'text');
  if (!isPlainObject(raw)) {
    return invalid([`must be an object like { "command": "…", "args": ["…"] }, not ${describeType(raw)}`], null, 'text');
  }
  const problems: string[] = [];

  let command: string | null = null;
  if (raw.command === undefined) problems.push('"command" is missing');
  else if (typeof raw.command !== 'string') problems.push(`"command" must be a string, not ${describeType(raw.command)}`);
  else if (raw.command.trim() === '') problems.push('"command" is empty');
  else command = raw.command;

  const stringArray = (field: 'args' | 'resumeArgs'): string[] | undefined => {
    const value = raw[field];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) {
      problems.push(`"${field}" must be an array of strings, not ${describeType(value)}`);
      return undefined;
    }
    value.forEach((item, i) => {
      if (typeof item !== 'string') problems.push(`"${field}[${i}]" must be a string, not ${describeType(item)}`);
    });
    return value.filter((item): item is string => typeof item === 'string');
  };
  // A profile without args (`{ "command": "make" }`) is a plain command: args default to none.
  const args = stringArray('args') ?? [];
  const resumeArgs = stringArray('resumeArgs');

  let format: OutputFormat = 'text';
  if (raw.format !== undefined) {
    if (typeof raw.format === 'string' && (OUTPUT_FORMATS as readonly string[]).includes(raw.format)) format = raw.format as OutputFormat;
    else problems.push(`"format" must be one of ${OUTPUT_FORMATS.map((f) => `"${f}"`).join(', ')}, not ${describeType(raw.format)}`);
  }

  const env: Record<string, string> = {};
  if (raw.env !== undefined) {
    if (!isPlainObject(raw.env)) problems.push(`"env" must be an object of strings, not ${describeType(raw.env)}`);
    else {
      for (const [key, value] of Object.entries(raw.env)) {
        if (key === '' || key.includes('=') || key.includes('\0')) problems.push(`"env" has an invalid variable name ${JSON.stringify(key)}`);
        // Values are not echoed: they may be secrets.
        else if (typeof value !== 'string') problems.push(`"env.${key}" must be a string`);
        else env[key] = value;
      }
    }
  }

  let shell = false;
  if (raw.shell !== undefined) {
    if (typeof raw.shell !== 'boolean') problems.push(`"shell" must be true or false, not ${describeType(raw.shell)}`);
    else shell = raw.shell;
  }

  const checkPlaceholders = (field: string, text: string, commandLine: boolean): void => {
    for (const p of placeholdersIn(text)) {
      if (!isPlaceholder(p)) {
        problems.push(`"${field}" has an unknown placeholder \${${p}} (known: ${PLACEHOLDERS.map((k) => `\${${k}}`).join(', ')})`);
      } else if (commandLine && p === 'prompt' && field === 'command') {
        problems.push('"command" cannot contain ${prompt}: put it in "args"');
      } else if (commandLine && shell && (p === 'prompt' || p === 'workspaceFolder')) {
        const variable = p === 'prompt' ? ENV_PROMPT : ENV_WORKSPACE_FOLDER;
        problems.push(
          `"${field}" cannot use \${${p}} in a "shell": true profile (a shell would parse it): use the environment variable ${variable} instead, quoted ("$${variable}")`,
        );
      }
    }
  };
  if (command !== null) checkPlaceholders('command', command, true);
  args.forEach((a, i) => checkPlaceholders(`args[${i}]`, a, true));
  resumeArgs?.forEach((a, i) => checkPlaceholders(`resumeArgs[${i}]`, a, true));
  for (const [key, value] of Object.entries(env)) checkPlaceholders(`env.${key}`, value, false);

  if (problems.length > 0 || command === null) return invalid(problems, command, format);
  return {
    kind: 'ok',
    name,
    source,
    profile: { name, source, command, args, ...(resumeArgs !== undefined ? { resumeArgs } : {}), format, env, shell },
  };
}

/** The `agentTasks.agents` values per scope, as `WorkspaceConfiguration.inspect` returns them. */
export interface ProfileLayers {
  readonly user?: unknown;
  readonly workspace?: unknown;
  readonly workspaceFolder?: unknown;
}

export interface ResolvedProfiles {
  /** Built-ins first, then the names users added, in the order they were written. */
  readonly entries: readonly ProfileEntry[];
  /** Problems with the setting as a whole (not an object): each names the setting. */
  readonly problems: readonly string[];
}

/**
 * Merges built-ins and the setting's scopes: for each name, the most specific scope's profile
 * replaces the others whole (no field-by-field merge: a profile is read as written). `null`
 * removes a profile (hides a built-in). In an untrusted workspace the workspace scopes are
 * ignored; names defined only there are listed as `blocked`, so a user who picks one learns why.
 */
export function resolveProfiles(layers: ProfileLayers, trusted: boolean): ResolvedProfiles {
  const entries = new Map<string, ProfileEntry>();
  const problems: string[] = [];
  for (const profile of BUILTIN_PROFILES) entries.set(profile.name, { kind: 'ok', name: profile.name, source: 'built-in', profile });
  const scopes: [ProfileSource, unknown][] = [
    ['user', layers.user],
    ['workspace', layers.workspace],
    ['workspaceFolder', layers.workspaceFolder],
  ];
  for (const [source, value] of scopes) {
    if (value === undefined || value === null) continue;
    if (!isPlainObject(value)) {
      problems.push(`${AGENTS_SETTING} (${SCOPE_LABEL[source]}) must be an object of profiles (name → { "command": …, "args": […] }), not ${describeType(value)}; it is ignored.`);
      continue;
    }
    const restricted = source !== 'user' && !trusted;
    for (const [name, raw] of Object.entries(value)) {
      if (restricted) {
        if (!entries.has(name)) {
          entries.set(name, {
            kind: 'blocked',
            name,
            source,
            problem: `The agent profile "${name}" comes from this workspace's settings (${profileSettingPath(name)}). This workspace is not trusted, so Agent Tasks does not run commands defined by it. Trust the workspace, or define the profile in your user settings.`,
          });
        }
        continue;
      }
      if (raw === null) entries.delete(name);
      else entries.set(name, validateProfile(name, raw, source));
    }
  }
  return { entries: [...entries.values()], problems };
}

/** `agentTasks.defaultAgent` per scope; workspace values are ignored in an untrusted workspace. */
export function resolveDefaultAgent(layers: ProfileLayers, trusted: boolean): string {
  const candidates = trusted ? [layers.workspaceFolder, layers.workspace, layers.user] : [layers.user];
  for (const value of candidates) {
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return DEFAULT_AGENT;
}

/** Entries for a picker: the default agent first, the rest in their order. */
export function orderForPicking(entries: readonly ProfileEntry[], defaultAgent: string): ProfileEntry[] {
  const first = entries.filter((e) => e.name === defaultAgent);
  return [...first, ...entries.filter((e) => e.name !== defaultAgent)];
}

export type RunMode = 'start' | 'resume';

function argsFor(profile: AgentProfile, mode: RunMode): readonly string[] {
  if (mode === 'start') return profile.args;
  if (profile.resumeArgs === undefined) throw new Error(`${profileSettingPath(profile.name, 'resumeArgs')} is not set: this profile cannot resume a session.`);
  return profile.resumeArgs;
}

function mentions(profile: AgentProfile, mode: RunMode, placeholder: Placeholder, envName: string): boolean {
  const texts = [profile.command, ...(mode === 'resume' ? profile.resumeArgs ?? [] : profile.args)];
  const token = `\${${placeholder}}`;
  if (texts.some((t) => t.includes(token))) return true;
  if (Object.values(profile.env).some((v) => v.includes(token))) return true;
  // A shell profile reads the value from the environment: look for the variable's name.
  return profile.shell && texts.some((t) => t.includes(envName));
}

/** Whether a run of this profile needs a prompt (else the Run command does not ask for one). */
export function usesPrompt(profile: AgentProfile, mode: RunMode = 'start'): boolean {
  return mentions(profile, mode, 'prompt', ENV_PROMPT);
}

/**
 * Whether the profile hands our session id to the agent. Only then is that id journaled from the
 * start; otherwise (Codex picks its own thread id) the row learns the agent's id from its output,
 * so that "Resume" never targets a session the agent does not know.
 */
export function passesSessionId(profile: AgentProfile, mode: RunMode = 'start'): boolean {
  return mentions(profile, mode, 'sessionId', ENV_SESSION_ID);
}

export interface ExpansionVars {
  readonly prompt: string | null;
  readonly sessionId: string;
  readonly workspaceFolder: string;
  readonly taskId: string;
}

export interface ExpandedCommand {
  readonly command: string;
  readonly args: string[];
  /** The profile's env plus the AGENT_TASKS_* variables. */
  readonly env: Record<string, string>;
  readonly shell: boolean;
  readonly format: OutputFormat;
}

/** Replaces placeholders in one string, in one pass: a prompt holding `${sessionId}` stays as typed. */
function substitute(text: string, vars: ExpansionVars): string {
  return text.replace(PLACEHOLDER_PATTERN, (whole, name: string) => {
    switch (name) {
      case 'prompt':
        return vars.prompt ?? '';
      case 'sessionId':
        return vars.sessionId;
      case 'workspaceFolder':
        return vars.workspaceFolder;
      case 'taskId':
        return vars.taskId;
      default:
        return whole;
    }
  });
}

/**
 * The command, argv and environment of one run. Each args element yields exactly one argv
 * element. Expects a validated profile (validateProfile refused unsafe placeholders).
 */
export function expandProfile(profile: AgentProfile, mode: RunMode, vars: ExpansionVars): ExpandedCommand {
  const args = argsFor(profile, mode).map((a) => substitute(a, vars));
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(profile.env)) env[key] = substitute(value, vars);
  env[ENV_TASK_ID] = vars.taskId;
  env[ENV_SESSION_ID] = vars.sessionId;
  env[ENV_WORKSPACE_FOLDER] = vars.workspaceFolder;
  if (vars.prompt !== null) env[ENV_PROMPT] = vars.prompt;
  return { command: substitute(profile.command, vars), args, env, shell: profile.shell, format: profile.format };
}

/** The profile's command line with its placeholders, for pickers and tooltips (display only). */
export function profileCommandPreview(profile: AgentProfile, mode: RunMode = 'start'): string {
  const args = mode === 'resume' ? profile.resumeArgs ?? [] : profile.args;
  // A lone placeholder reads better unquoted.
  return [profile.command, ...args].map((a) => (/^\$\{\w+\}$/.test(a) ? a : displayArg(a))).join(' ');
}
