/**
 * Agent profiles (`agentTasks.agents`): the built-ins, validation of what users wrote in their
 * settings, and the expansion of a profile into the argv of one run. No `vscode` import: the
 * extension's config.ts reads the setting layers and hands them over.
 *
 * Safety rule: a prompt is user text and is never parsed by a shell. A profile hands it over in one
 * of two ways (`promptInput`): on the agent's standard input (`"stdin"`: written, then stdin is
 * closed; the argv holds no prompt at all), or as an argument (`"argument"`, the default, so
 * profiles written before stdin existed keep working): `${prompt}` is replaced
 * inside ONE argv element (the element stays one element, whatever the prompt holds). Profiles
 * with `shell: true` have their command line parsed by a shell, so there `${prompt}` (and
 * `${workspaceFolder}`, a path that may hold spaces or quotes) are refused: such profiles read
 * the values from environment variables instead (AGENT_TASKS_PROMPT, …), which a shell expands
 * without re-parsing when quoted ("$AGENT_TASKS_PROMPT").
 *
 * A profile can also hand an argument to a shell or interpreter itself (`sh -c "…"`,
 * `cmd /c`, `powershell -Command`, `node -e`, `python -c`, `perl -e`, `ruby -e`, also behind
 * `env`): the same two placeholders are refused in the script such a program parses (see
 * scriptArguments), with the same way out. Arguments after the script (`sh -c 'a "$1"' sh
 * ${prompt}`) reach it as plain values and stay allowed.
 */
import type { TaskSpec } from '../../core/taskRunner';
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

/**
 * How the prompt reaches the agent: `"argument"` where `${prompt}` stands in `args`/`resumeArgs`
 * (or the AGENT_TASKS_PROMPT variable), `"stdin"` on its standard input, the argv holding none of it.
 */
export const PROMPT_INPUTS = ['argument', 'stdin'] as const;
export type PromptInput = (typeof PROMPT_INPUTS)[number];

export interface AgentProfile {
  readonly name: string;
  readonly source: ProfileSource;
  readonly command: string;
  readonly args: readonly string[];
  readonly resumeArgs?: readonly string[];
  readonly format: OutputFormat;
  readonly env: Readonly<Record<string, string>>;
  readonly shell: boolean;
  /** Default `"argument"`. */
  readonly promptInput: PromptInput;
  /**
   * The agent asks through its stdio (Claude Code's `--input-format stream-json
   * --permission-prompt-tool stdio`): its permission requests and questions are answered from the
   * editor or `agent-tasks answer`. Needs `promptInput: "stdin"` and format `claude-stream-json`.
   */
  readonly interactive?: boolean;
  /**
   * Runs start in a new git worktree on a branch of their own (src/core/worktree.ts), not in the
   * folder itself: the default of Run Agent Task…'s "where" choice and of `agent-tasks run --agent`.
   */
  readonly worktree?: boolean;
}

export type ProfileEntry =
  | { readonly kind: 'ok'; readonly name: string; readonly source: ProfileSource; readonly profile: AgentProfile }
  /** A malformed profile: `problem` names the setting. `command`/`format` are what could be salvaged, for journaling the failed run. */
  | { readonly kind: 'invalid'; readonly name: string; readonly source: ProfileSource; readonly problem: string; readonly command: string | null; readonly format: OutputFormat }
  /** Defined only in workspace settings of an untrusted workspace: not run. */
  | { readonly kind: 'blocked'; readonly name: string; readonly source: ProfileSource; readonly problem: string };

/**
 * The built-in profiles, checked against the real CLIs by the real-agent suite (test/agents, whose
 * drivers run exactly these argv; docs/AGENTS-TESTING.md):
 *
 * - Claude and Gemini take our session id (`--session-id`), so it is journaled before the spawn
 *   and even a run killed in its first second can be resumed. Codex picks its own thread id.
 * - Codex: `-s workspace-write`, else its read-only default sandbox refuses every edit and command
 *   while the run "succeeds" (the refused commands are not even items on stdout). `-s` and
 *   `--skip-git-repo-check` go before `resume` (they are `exec` options). `--skip-git-repo-check`:
 *   a task runs in the folder the user opened, git repository or not, as Claude and Gemini do;
 *   without it Codex refuses any folder outside a git repository that its config does not trust,
 *   with the reason on stderr only (the row would say just "Exited with code 1"). The flag skips
 *   only that check: the sandbox still limits writes to the working folder, and an untrusted
 *   project's own `.codex/config.toml` stays ignored ("Untrusted project-local configuration is
 *   disabled").
 * - Gemini: `-m gemini-2.5-flash` (the default `auto` makes a routing call to pick a model first),
 *   `--approval-mode yolo` (without it a headless run has no shell tool: the model's call is
 *   refused as `tool_not_registered`). Its own folder trust is kept: in a folder never trusted in
 *   Gemini it downgrades yolo and exits 55, with its reason on stderr.
 * - The prompt goes on stdin (`promptInput: "stdin"`), for new runs and resumes alike: as an
 *   argument it was read as an option when it started with "-" (a pasted Markdown list "- fix
 *   the bug" was refused by all three CLIs), failed past the 128 KB limit of one argv element, and
 *   was visible to every user of the machine in `ps`. `-- ${prompt}` would have fixed only the first,
 *   and for Claude not even that (options a user appends after `-- PROMPT` are silently ignored).
 *   Each CLI reads stdin to its end, and the real-agent suite runs each with a "- " prompt and a
 *   200 KB one, new run, resume and tool call:
 *   - Claude: `-p` (`--print`) is a flag; with no prompt argument it reads the prompt from stdin.
 *   - Codex: `-` as the prompt (`exec … -`, `exec … resume ID -`) reads it from stdin. With a prompt
 *     argument AND a piped stdin it would append stdin to it as a `<stdin>` block instead.
 *   - Gemini: no `-p` at all: with a stdin that is not a terminal it runs headless and takes stdin
 *     as the prompt (`-p TEXT` would be appended to stdin). It waits at most 500 ms for the first
 *     bytes (the runner writes them at once) and truncates stdin past 8 MB.
 *   A run then gets no AGENT_TASKS_PROMPT either: one environment string is held to the same
 *   128 KB as one argument.
 * - Claude asks (`interactive`): `--input-format stream-json --permission-prompt-tool stdio`. The
 *   prompt is the first user message on stdin; a tool call that needs permission, and every
 *   AskUserQuestion, becomes a request in the journal (status needs_input), answered from any
 *   window or `agent-tasks answer`; stdin closes after its result line (src/core/agentConversation.ts).
 *   A profile of your own with `--permission-mode` / `--allowedTools` and no `interactive` runs as
 *   before: what it may not do is denied and recorded.
 */
export const BUILTIN_PROFILES: readonly AgentProfile[] = [
  {
    name: 'claude',
    source: 'built-in',
    command: 'claude',
    args: ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-prompt-tool', 'stdio', '--session-id', '${sessionId}'],
    resumeArgs: ['-p', '--resume', '${sessionId}', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--permission-prompt-tool', 'stdio'],
    format: 'claude-stream-json',
    env: {},
    shell: false,
    promptInput: 'stdin',
    interactive: true,
  },
  {
    name: 'codex',
    source: 'built-in',
    command: 'codex',
    args: ['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', '-'],
    resumeArgs: ['exec', '--json', '-s', 'workspace-write', '--skip-git-repo-check', 'resume', '${sessionId}', '-'],
    format: 'codex-json',
    env: {},
    shell: false,
    promptInput: 'stdin',
  },
  {
    name: 'gemini',
    source: 'built-in',
    command: 'gemini',
    args: ['-m', 'gemini-2.5-flash', '--output-format', 'stream-json', '--approval-mode', 'yolo', '--session-id', '${sessionId}'],
    resumeArgs: ['-m', 'gemini-2.5-flash', '--resume', '${sessionId}', '--output-format', 'stream-json', '--approval-mode', 'yolo'],
    format: 'gemini-stream-json',
    env: {},
    shell: false,
    promptInput: 'stdin',
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

// ---------------------------------------------------------------------------------------------
// Arguments that a shell or interpreter parses as code

/** The programs whose arguments can be code, by how they read their command line. */
type InterpreterFamily = 'sh' | 'fish' | 'cmd' | 'powershell' | 'node' | 'python' | 'perl' | 'ruby';

/**
 * Why an argument must not carry `${prompt}` (or, for `script`, `${workspaceFolder}`):
 * - `script`: the program parses the argument as code (`bash -c SCRIPT`, `node -e SCRIPT`, …);
 * - `option`: the argument starts with `${prompt}` where the program still reads its own
 *   options, so a prompt starting with "-" would be one (`node -e … --eval=evil`);
 * - `command`: the argument names the program that runs (`env ${prompt}`, `python -m ${prompt}`);
 * - `files`: perl -n/-p opens its file arguments with the 2-argument open ("cmd|" runs cmd).
 */
interface ParsedArgument {
  readonly kind: 'script' | 'option' | 'command' | 'files';
  /** The program as matched, e.g. `bash` (basename, lower case, without `.exe`). */
  readonly program: string;
  /** What takes the argument, e.g. `bash -c`, `cmd`, `env -S`, `python -m`. */
  readonly how: string;
  readonly family: InterpreterFamily | 'env';
}

const SH_NAMES = new Set(['sh', 'bash', 'rbash', 'zsh', 'dash', 'ksh', 'ksh93', 'mksh', 'lksh', 'oksh', 'pdksh', 'ash', 'yash', 'posh', 'csh', 'tcsh']);

/** The command's basename, lower case, without `.exe`: `C:\Windows\System32\CMD.EXE` → `cmd`. */
function programName(command: string): string {
  const base = command.split(/[\\/]/).pop() ?? command;
  return base.toLowerCase().replace(/\.exe$/, '');
}

function familyOf(program: string): InterpreterFamily | 'env' | undefined {
  if (SH_NAMES.has(program)) return 'sh';
  if (program === 'fish') return 'fish';
  if (program === 'cmd') return 'cmd';
  if (program === 'powershell' || program === 'pwsh' || program === 'pwsh-preview') return 'powershell';
  if (program === 'node' || program === 'nodejs') return 'node';
  if (program === 'py' || /^(python|pypy)(\d+(\.\d+)*)?w?$/.test(program)) return 'python';
  if (/^perl(\d+(\.\d+)*)?$/.test(program)) return 'perl';
  if (/^ruby(\d+(\.\d+)*)?$/.test(program)) return 'ruby';
  if (program === 'env') return 'env';
  return undefined;
}

interface Arg {
  readonly text: string;
  /** Its index in the profile's args (arguments split out of `env -S` keep the index of that argument). */
  readonly index: number;
}

const startsWithPrompt = (text: string): boolean => text.startsWith('${prompt}');

const NODE_VALUE_OPTIONS = new Set([
  '-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--input-type', '--env-file',
  '--env-file-if-exists', '--title', '--redirect-warnings', '--watch-path', '--test-name-pattern', '--test-skip-pattern',
  '--test-reporter', '--test-reporter-destination', '--test-shard', '--inspect-port', '--debug-port', '--icu-data-dir',
  '--openssl-config', '--diagnostic-dir', '--report-dir', '--report-directory', '--report-filename', '--report-signal',
  '--cpu-prof-dir', '--cpu-prof-name', '--heap-prof-dir', '--heap-prof-name', '--secure-heap', '--secure-heap-min',
  '--unhandled-rejections', '--dns-result-order', '--experimental-policy', '--policy-integrity', '--tls-cipher-list',
  '--tls-keylog', '--trace-event-categories', '--trace-event-file-pattern', '--use-largepages', '--max-http-header-size',
  '--disable-warning', '--localstorage-file', '--experimental-config-file', '--run', '--watch-kill-signal',
]);

const POWERSHELL_VALUE_OPTIONS = ['executionpolicy', 'windowstyle', 'outputformat', 'inputformat', 'version', 'psconsolefile', 'configurationname', 'configurationfile', 'workingdirectory', 'settingsfile', 'custompipename', 'encodedarguments'];
const POWERSHELL_VALUE_ALIASES = new Set(['ex', 'ep', 'w', 'o', 'of', 'if', 'v', 'wd', 'ea']);

/**
 * Which of a command's arguments a shell or interpreter would parse as code (or read as an
 * option, a command, a file to open), by index into `args`. Empty for other programs: they get
 * each argument as one plain value. The command is matched by its basename (`/bin/bash`,
 * `C:\Windows\System32\cmd.exe`), and `env [options] [NAME=value…] program …` is seen through.
 * Only arguments holding a placeholder matter; the others may be marked too.
 */
function scriptArguments(command: string, args: readonly string[]): Map<number, ParsedArgument> {
  const found = new Map<number, ParsedArgument>();
  analyzeCommand(command, args.map((text, index) => ({ text, index })), found);
  return found;
}

function analyzeCommand(command: string, args: readonly Arg[], found: Map<number, ParsedArgument>, depth = 0): void {
  const program = programName(command);
  const family = familyOf(program);
  if (family === undefined || depth > 8) return;
  const mark = (arg: Arg | undefined, kind: ParsedArgument['kind'], how: string): void => {
    if (arg !== undefined && !found.has(arg.index)) found.set(arg.index, { kind, program, how, family });
  };
  /** An argument where the program still reads options: a prompt at its start could make it one. */
  const optionPosition = (arg: Arg): void => {
    if (startsWithPrompt(arg.text)) mark(arg, 'option', program);
  };
  switch (family) {
    case 'env':
      return analyzeEnv(args, mark, optionPosition, found, depth);
    case 'sh':
      return analyzeSh(program, args, mark, optionPosition);
    case 'fish':
      return analyzeFish(args, mark, optionPosition);
    case 'cmd':
      // cmd.exe parses its whole command line (after /c or /k it is the command; %VARIABLES% are
      // expanded before parsing), and Windows passes it as one string that cmd does not unquote
      // the way a program's C runtime does: no argument of cmd is a plain value.
      for (const arg of args) mark(arg, 'script', 'cmd');
      return;
    case 'powershell':
      return analyzePowerShell(program, args, mark, optionPosition);
    case 'node':
      return analyzeNode(args, mark, optionPosition);
    case 'python':
      return analyzePython(program, args, mark, optionPosition);
    case 'perl':
      return analyzePerl(args, mark, optionPosition);
    case 'ruby':
      return analyzeRuby(args, mark, optionPosition);
  }
}

type Mark = (arg: Arg | undefined, kind: ParsedArgument['kind'], how: string) => void;
type OptionPosition = (arg: Arg) => void;

/** `env [-i] [-u NAME] [-C DIR] [-S STRING] [NAME=value…] [--] program args…` */
function analyzeEnv(args: readonly Arg[], mark: Mark, optionPosition: OptionPosition, found: Map<number, ParsedArgument>, depth: number): void {
  let i = 0;
  const split = (arg: Arg, value: string): void => {
    // env splits the string into arguments (and then runs them with the rest): the string
    // itself must not carry a prompt, and what it splits into is read like any command line.
    mark(arg, 'script', 'env -S');
    const parts = value.split(/\s+/).filter((p) => p !== '').map((p) => ({ text: p.replace(/^(['"])(.*)\1$/, '$2'), index: arg.index }));
    analyzeEnv([...parts, ...args.slice(i)], mark, optionPosition, found, depth + 1);
  };
  while (i < args.length) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--') {
      i++;
      break;
    }
    if (t.startsWith('--') && t.length > 2) {
      i++;
      const [name, value] = t.includes('=') ? [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1)] : [t, undefined];
      if (name === '--split-string') {
        if (value !== undefined) return split(arg, value);
        const next = args[i++];
        return next === undefined ? undefined : split(next, next.text);
      }
      if (value === undefined && (name === '--unset' || name === '--chdir')) i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      i++;
      for (let j = 1; j < t.length; j++) {
        const c = t[j];
        if (c === 'S') {
          const rest = t.slice(j + 1);
          if (rest !== '') return split(arg, rest);
          const next = args[i++];
          return next === undefined ? undefined : split(next, next.text);
        }
        if (c === 'u' || c === 'C' || c === 'P') {
          if (j === t.length - 1) i++;
          break;
        }
      }
      continue;
    }
    if (startsWithPrompt(t)) {
      optionPosition(arg);
      i++;
      continue;
    }
    if (/^[^=$]+=/.test(t)) {
      i++; // NAME=value
      continue;
    }
    break;
  }
  const program = args[i];
  if (program === undefined) return;
  if (program.text.includes('${prompt}')) mark(program, 'command', 'env');
  else analyzeCommand(program.text, args.slice(i + 1), found, depth + 1);
}

/** sh, bash, zsh, dash, ksh, csh…: `-c` (alone or in a flag block like `-lc`) makes the first operand the script. */
function analyzeSh(program: string, args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  let commandMode = false;
  let i = 0;
  while (i < args.length) {
    const t = args[i].text;
    if (t === '--' || t === '-') {
      i++;
      break;
    }
    if (t.startsWith('--') && t.length > 2) {
      i += t === '--rcfile' || t === '--init-file' ? 2 : 1;
      continue;
    }
    if ((t.startsWith('-') || t.startsWith('+')) && t.length > 1) {
      i++;
      for (const c of t.slice(1)) {
        if (c === 'c' && t[0] === '-') commandMode = true;
        else if (c === 'o' || c === 'O') i++; // -o option / +O shopt_option: the next argument is its value
      }
      continue;
    }
    break;
  }
  const operand = args[i];
  if (operand === undefined) return;
  // With -c the first operand is the script and the rest are $0, $1…: plain values.
  if (commandMode) mark(operand, 'script', `${program} -c`);
  else optionPosition(operand); // a script file: the rest are its arguments
}

/**
 * fish: `-c CMD`, `--command CMD`, `--command=CMD`, `-C`/`--init-command` the same. Options are
 * read up to the first operand or `--`; the operands are $argv.
 */
function analyzeFish(args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  const longWithValue = ['--command', '--init-command', '--debug', '--debug-output', '--features', '--debug-stack-frames', '--profile', '--profile-startup'];
  let i = 0;
  while (i < args.length) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--') return;
    if (t.startsWith('--') && t.length > 2) {
      i++;
      const name = t.includes('=') ? t.slice(0, t.indexOf('=')) : t;
      const isScript = name === '--command' || name === '--init-command';
      if (t.includes('=')) {
        if (isScript) mark(arg, 'script', `fish ${name}`);
      } else if (longWithValue.includes(name)) {
        if (isScript) mark(args[i], 'script', `fish ${name}`);
        i++;
      }
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      i++;
      for (let j = 1; j < t.length; j++) {
        const c = t[j];
        if ('cCdofDp'.includes(c)) {
          const attached = j < t.length - 1;
          const isScript = c === 'c' || c === 'C';
          if (attached) {
            if (isScript) mark(arg, 'script', `fish -${c}`);
          } else {
            if (isScript) mark(args[i], 'script', `fish -${c}`);
            i++;
          }
          break;
        }
      }
      continue;
    }
    optionPosition(arg);
    return;
  }
}

/**
 * powershell / pwsh: everything after -Command (-c, -com…) is joined into the command; the
 * argument after -EncodedCommand (-e, -ec) or -CommandWithArgs (-cwa) is a script; -File ends
 * the options. Windows PowerShell (`powershell`) runs a first operand as a command too.
 */
function analyzePowerShell(program: string, args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  const prefixOf = (full: string, name: string, min = 1): boolean => name.length >= min && full.startsWith(name);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const t = arg.text;
    const name = t.replace(/^(--?|\/)/, '').toLowerCase();
    const isOption = t.length > 1 && (t.startsWith('-') || (t.startsWith('/') && /^[a-z]+$/.test(name) && !t.slice(1).includes('/')));
    if (!isOption) {
      if (program === 'powershell') {
        for (const rest of args.slice(i)) mark(rest, 'script', 'powershell');
      } else optionPosition(arg); // pwsh: a script file; the rest are its arguments
      return;
    }
    if (name === 'cwa' || (name.length > 7 && prefixOf('commandwithargs', name))) {
      mark(args[i + 1], 'script', `${program} -CommandWithArgs`);
      return; // the rest are $args: plain values
    }
    if (prefixOf('command', name)) {
      for (const rest of args.slice(i + 1)) mark(rest, 'script', `${program} -Command`);
      return;
    }
    if (name === 'e' || name === 'ec' || prefixOf('encodedcommand', name, 2)) {
      mark(args[i + 1], 'script', `${program} -EncodedCommand`);
      i++;
      continue;
    }
    if (prefixOf('file', name)) return; // -File script.ps1 args…: its arguments are values
    if (POWERSHELL_VALUE_ALIASES.has(name) || POWERSHELL_VALUE_OPTIONS.some((full) => prefixOf(full, name, 3))) i++;
  }
}

/** node: `-e`/`--eval`, `-p`/`--print` (and `-pe`) take a script; options are read up to the first operand or `--`. */
function analyzeNode(args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--' || t === '-') return;
    if (/^--(eval|print)=/.test(t)) {
      mark(arg, 'script', `node ${t.slice(0, t.indexOf('='))}`);
      continue;
    }
    if (t === '--eval' || t === '--print' || t === '-e' || t === '-p' || t === '-pe') {
      mark(args[i + 1], 'script', `node ${t}`);
      i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      if (!t.includes('=') && NODE_VALUE_OPTIONS.has(t)) i++;
      continue;
    }
    optionPosition(arg); // the script file, or the first argument after -e: options end here
    return;
  }
}

/** python: `-c CMD` (also `-cCMD`, `-Ic`) ends the options; `-m MODULE` too. */
function analyzePython(program: string, args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--') {
      // The script file follows: a prompt there is its name, not an option.
      return;
    }
    if (t === '-') return;
    if (t.startsWith('--') && t.length > 2) {
      if (t === '--check-hash-based-pycs') i++;
      continue;
    }
    if (t.startsWith('-') && t.length > 1) {
      for (let j = 1; j < t.length; j++) {
        const c = t[j];
        const attached = j < t.length - 1;
        if (c === 'c') {
          mark(attached ? arg : args[i + 1], 'script', `${program} -c`);
          return; // the rest are sys.argv[1:]
        }
        if (c === 'm') {
          const module = attached ? arg : args[i + 1];
          if (module?.text.includes('${prompt}')) mark(module, 'command', `${program} -m`);
          return;
        }
        if (c === 'W' || c === 'X') {
          if (!attached) i++;
          break;
        }
      }
      continue;
    }
    optionPosition(arg);
    return;
  }
}

/** perl: every `-e`/`-E` takes a script (also `-ne`, `-lne`, `-e'code'`); switches are read up to the first operand or `--`. */
function analyzePerl(args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  let readsFiles = false; // -n / -p: the operands are opened with the 2-argument open
  let sawScript = false;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--') {
      i++;
      break;
    }
    if (!(t.startsWith('-') && t.length > 1)) {
      optionPosition(arg);
      break;
    }
    for (let j = 1; j < t.length; j++) {
      const c = t[j];
      if (c === 'e' || c === 'E') {
        sawScript = true;
        if (j < t.length - 1) mark(arg, 'script', `perl -${c}`);
        else mark(args[++i], 'script', `perl -${c}`);
        break;
      }
      if (c === 'n' || c === 'p') readsFiles = true;
      else if (c === '0' || c === 'l') {
        // -l[octal], -0[octal] or -0x[hex]
        const digits = c === '0' && t[j + 1] === 'x' ? /^x[0-9a-fA-F]*/ : /^[0-7]*/;
        j += digits.exec(t.slice(j + 1))?.[0].length ?? 0;
      } else if ('iIMmxdDFCV'.includes(c)) break; // the rest of the block is this switch's value
    }
  }
  if (!readsFiles) return;
  for (const operand of args.slice(sawScript ? i : i + 1)) mark(operand, 'files', 'perl -n/-p');
}

/** ruby: every `-e` takes a script; switches are read up to the first operand or `--`. */
function analyzeRuby(args: readonly Arg[], mark: Mark, optionPosition: OptionPosition): void {
  const longWithValue = ['--enable', '--disable', '--encoding', '--external-encoding', '--internal-encoding', '--dump', '--backtrace-limit', '--crash-report', '--parser'];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const t = arg.text;
    if (t === '--' || t === '-') return;
    if (t.startsWith('--') && t.length > 2) {
      if (!t.includes('=') && longWithValue.includes(t)) i++;
      continue;
    }
    if (!(t.startsWith('-') && t.length > 1)) {
      optionPosition(arg);
      return;
    }
    for (let j = 1; j < t.length; j++) {
      const c = t[j];
      const attached = j < t.length - 1;
      if (c === 'e') {
        mark(attached ? arg : args[++i], 'script', 'ruby -e');
        break;
      }
      if ('rICE'.includes(c)) {
        if (!attached) i++;
        break;
      }
      if ('xiTWKF0'.includes(c)) break; // optional value, attached
    }
  }
}

const HOW_TO_READ: Record<InterpreterFamily, { env: (variable: string) => string; after: string }> = {
  sh: { env: (v) => `quoted ("$${v}")`, after: 'after the script and a name for $0, read as "$1" (["-c", "agent \\"$1\\"", "sh", "${prompt}"])' },
  fish: { env: (v) => `as $${v} (fish does not split it)`, after: 'after the script and "--", read as $argv[1]' },
  cmd: { env: () => '', after: '' },
  powershell: { env: (v) => `as $env:${v}`, after: 'after a script run with -File (["-File", "agent.ps1", "${prompt}"])' },
  node: { env: (v) => `as process.env.${v}`, after: 'after the script and "--", read as process.argv[1]' },
  python: { env: (v) => `as os.environ["${v}"]`, after: 'after the script, read as sys.argv[1]' },
  perl: { env: (v) => `as $ENV{${v}}`, after: 'after the script and "--", read as $ARGV[0]' },
  ruby: { env: (v) => `as ENV["${v}"]`, after: 'after the script and "--", read as ARGV[0]' },
};

/** The problem with `${placeholder}` in an argument that `parsed` says is not a plain value; undefined when it is safe there. */
function scriptArgumentProblem(field: string, text: string, placeholder: 'prompt' | 'workspaceFolder', parsed: ParsedArgument): string | undefined {
  const token = `\${${placeholder}}`;
  const variable = placeholder === 'prompt' ? ENV_PROMPT : ENV_WORKSPACE_FOLDER;
  switch (parsed.kind) {
    case 'script': {
      if (parsed.family === 'env') {
        return `"${field}" cannot use ${token} in the string that env -S splits (env would split it into arguments): give it an argument of its own`;
      }
      if (parsed.family === 'cmd') {
        return `"${field}" cannot use ${token} in a cmd command line (cmd parses all of it, %${variable}% included): run the program itself as "command", with ${token} as an argument of its own`;
      }
      const read = HOW_TO_READ[parsed.family];
      return (
        `"${field}" cannot use ${token} in the script that ${parsed.how} runs (${parsed.program} would parse it): ` +
        `use the environment variable ${variable} instead, ${read.env(variable)}, or pass ${token} as an argument of its own ${read.after.replace('${prompt}', token)}`
      );
    }
    case 'option':
      if (placeholder !== 'prompt' || !startsWithPrompt(text)) return undefined;
      return (
        `"${field}" cannot start with ${token} here: ${parsed.program} still reads its own options at that point, so a prompt starting with "-" would be one: ` +
        (parsed.family === 'powershell' ? 'pass it after -File and the script' : 'put "--" before it')
      );
    case 'command':
      if (placeholder !== 'prompt') return undefined;
      return `"${field}" cannot contain ${token}: ${parsed.how} runs it as a command`;
    case 'files':
      if (placeholder !== 'prompt') return undefined;
      return `"${field}" cannot use ${token} as a file for perl -n/-p (perl opens "cmd|" as a pipe): use the environment variable ${ENV_PROMPT} instead ($ENV{${ENV_PROMPT}})`;
  }
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

  let promptInput: PromptInput = 'argument';
  if (raw.promptInput !== undefined) {
    if (typeof raw.promptInput === 'string' && (PROMPT_INPUTS as readonly string[]).includes(raw.promptInput)) promptInput = raw.promptInput as PromptInput;
    else problems.push(`"promptInput" must be ${PROMPT_INPUTS.map((i) => `"${i}"`).join(' or ')}, not ${describeType(raw.promptInput)}`);
  }

  let interactive = false;
  if (raw.interactive !== undefined) {
    if (typeof raw.interactive !== 'boolean') problems.push(`"interactive" must be true or false, not ${describeType(raw.interactive)}`);
    else interactive = raw.interactive;
  }
  if (interactive) {
    if (format !== 'claude-stream-json') problems.push(`"interactive" needs "format": "claude-stream-json" (Claude Code's two-way stream-json), not "${format}"`);
    if (promptInput !== 'stdin') problems.push('"interactive" needs "promptInput": "stdin": the prompt is the first message on the agent\'s standard input');
    if (shell) problems.push('"interactive" cannot go with "shell": true');
  }

  let worktree = false;
  if (raw.worktree !== undefined) {
    if (typeof raw.worktree !== 'boolean') problems.push(`"worktree" must be true or false, not ${describeType(raw.worktree)}`);
    else worktree = raw.worktree;
  }

  const checkPlaceholders = (field: string, text: string, commandLine: boolean, parsed?: ParsedArgument): void => {
    for (const p of placeholdersIn(text)) {
      if (!isPlaceholder(p)) {
        problems.push(`"${field}" has an unknown placeholder \${${p}} (known: ${PLACEHOLDERS.map((k) => `\${${k}}`).join(', ')})`);
      } else if (commandLine && p === 'prompt' && field === 'command') {
        problems.push('"command" cannot contain ${prompt}: put it in "args"');
      } else if (p === 'prompt' && promptInput === 'stdin') {
        // One way in: a prompt on stdin AND in the argv would reach the agent twice (Codex appends stdin to its argument).
        problems.push(`"${field}" cannot use \${prompt}: "promptInput" is "stdin", so the prompt goes on the agent's standard input; remove \${prompt}, or set "promptInput": "argument"`);
      } else if (commandLine && shell && (p === 'prompt' || p === 'workspaceFolder')) {
        const variable = p === 'prompt' ? ENV_PROMPT : ENV_WORKSPACE_FOLDER;
        problems.push(
          `"${field}" cannot use \${${p}} in a "shell": true profile (a shell would parse it): use the environment variable ${variable} instead, quoted ("$${variable}")`,
        );
      } else if (!shell && parsed !== undefined && (p === 'prompt' || p === 'workspaceFolder')) {
        const scriptProblem = scriptArgumentProblem(field, text, p, parsed);
        if (scriptProblem !== undefined && !problems.includes(scriptProblem)) problems.push(scriptProblem);
      }
    }
  };
  if (command !== null) checkPlaceholders('command', command, true);
  // A shell or interpreter as the command (`sh -c …`, `node -e …`) parses some arguments itself.
  const argsParsed = command !== null ? scriptArguments(command, args) : new Map<number, ParsedArgument>();
  const resumeParsed = command !== null && resumeArgs !== undefined ? scriptArguments(command, resumeArgs) : new Map<number, ParsedArgument>();
  args.forEach((a, i) => checkPlaceholders(`args[${i}]`, a, true, argsParsed.get(i)));
  resumeArgs?.forEach((a, i) => checkPlaceholders(`resumeArgs[${i}]`, a, true, resumeParsed.get(i)));
  for (const [key, value] of Object.entries(env)) checkPlaceholders(`env.${key}`, value, false);

  if (problems.length > 0 || command === null) return invalid(problems, command, format);
  return {
    kind: 'ok',
    name,
    source,
    profile: { name, source, command, args, ...(resumeArgs !== undefined ? { resumeArgs } : {}), format, env, shell, promptInput, ...(interactive ? { interactive } : {}), ...(worktree ? { worktree } : {}) },
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
  // A shell profile, or a shell or interpreter given a script (`sh -c 'agent "$AGENT_TASKS_PROMPT"'`),
  // reads the value from the environment: look for the variable's name.
  if (profile.shell) return texts.some((t) => t.includes(envName));
  const args = mode === 'resume' ? profile.resumeArgs ?? [] : profile.args;
  return [...scriptArguments(profile.command, args)].some(([i, parsed]) => parsed.kind === 'script' && args[i].includes(envName));
}

/** Whether a run of this profile needs a prompt (else the Run command does not ask for one). */
export function usesPrompt(profile: AgentProfile, mode: RunMode = 'start'): boolean {
  return profile.promptInput === 'stdin' || mentions(profile, mode, 'prompt', ENV_PROMPT);
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
  /** The profile's env plus the AGENT_TASKS_* variables (AGENT_TASKS_PROMPT only when the prompt is not on stdin). */
  readonly env: Record<string, string>;
  readonly shell: boolean;
  readonly format: OutputFormat;
  /** What to write to the agent's standard input (then closed): the prompt, for `promptInput: "stdin"`; else null (stdin is /dev/null). */
  readonly stdin: string | null;
  /** The agent asks through its stdio (the profile's `interactive`). */
  readonly interactive: boolean;
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
  const onStdin = profile.promptInput === 'stdin';
  // Not for a prompt on stdin: an environment string has the same 128 KB limit as an argument (E2BIG).
  if (vars.prompt !== null && !onStdin) env[ENV_PROMPT] = vars.prompt;
  return {
    command: substitute(profile.command, vars),
    args,
    env,
    shell: profile.shell,
    format: profile.format,
    stdin: onStdin ? vars.prompt ?? '' : null,
    interactive: profile.interactive === true,
  };
}

/** The settings a profile run takes besides the profile (read by the editor's config getters, or by the CLI from settings.json). */
export interface LaunchSettings {
  /** agentTasks.permissions.timeoutMinutes, in ms (0: wait as long as the run lives). */
  readonly requestTimeoutMs: number;
  /** agentTasks.resumePrompt while agentTasks.resumeAfterUsageLimit is on; undefined: a usage limit ends the run. */
  readonly resumePromptAfterLimit: string | undefined;
}

/**
 * What a run of `profile` gets besides its row, for the editor and `agent-tasks run --agent` alike:
 * command, argv, environment and stdin; whether its agent asks; and how it continues its session
 * after a usage limit (the resume argv with the follow-up prompt, only where the session id is
 * ours from the start: Codex picks its own).
 */
export function profileLaunch(
  profile: AgentProfile,
  mode: RunMode,
  vars: ExpansionVars,
  settings: LaunchSettings,
): Pick<TaskSpec, 'command' | 'args' | 'format' | 'env' | 'shell' | 'stdin' | 'interactive' | 'requestTimeoutMs' | 'resumeAfterLimit'> {
  const expanded = expandProfile(profile, mode, vars);
  const resumed =
    settings.resumePromptAfterLimit !== undefined && profile.resumeArgs !== undefined && passesSessionId(profile, 'start')
      ? expandProfile(profile, 'resume', { ...vars, prompt: settings.resumePromptAfterLimit })
      : undefined;
  return {
    command: expanded.command,
    args: expanded.args,
    format: expanded.format,
    env: expanded.env,
    shell: expanded.shell,
    // The prompt of a `promptInput: "stdin"` profile: on the agent's stdin, in the row's `prompt`, never in its argv.
    ...(expanded.stdin !== null ? { stdin: expanded.stdin } : {}),
    // Its permission requests and questions go to the journal, answered from any window or the CLI.
    ...(expanded.interactive ? { interactive: true, requestTimeoutMs: settings.requestTimeoutMs } : {}),
    ...(resumed ? { resumeAfterLimit: { args: resumed.args, ...(resumed.stdin !== null ? { stdin: resumed.stdin } : {}) } } : {}),
  };
}

/** The profile's command line with its placeholders, for pickers and tooltips (display only). */
export function profileCommandPreview(profile: AgentProfile, mode: RunMode = 'start'): string {
  const args = mode === 'resume' ? profile.resumeArgs ?? [] : profile.args;
  // A lone placeholder reads better unquoted.
  const line = [profile.command, ...args].map((a) => (/^\$\{\w+\}$/.test(a) ? a : displayArg(a))).join(' ');
  return profile.promptInput === 'stdin' ? `${line} < \${prompt}` : line;
}
