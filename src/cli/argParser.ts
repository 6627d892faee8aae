/**
 * A small command-line parser for the `agent-tasks` CLI: `--flag`, `--opt value`, `--opt=value`,
 * `-h`/`--help`, and `--` to end the options. Anything else that looks like an option is an error.
 */

/** A mistake in how the CLI was called: reported with a hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help the hint points to. */
    readonly command?: string,
  ) {
    super(message);
  }
}

export interface OptionDef {
  /** Without the leading dashes. */
  name: string;
  /** The value's placeholder for the help text; absent for a flag without a value. */
  value?: string;
  description: string;
}

export interface CommandDef {
  name: string;
  summary: string;
  /** The synopsis after `agent-tasks `. */
  usage: string;
  options: readonly OptionDef[];
  /**
   * `command`: the first positional (or whatever follows `--`) starts a command line taken verbatim.
   * Otherwise the number of positionals allowed.
   */
  positionals: 'command' | { min: number; max: number; name: string };
  /** More text for `--help`. */
  details?: string;
}

export interface ParsedArgs {
  /** By option name; flags map to `true`. The last occurrence wins. */
  options: Map<string, string | true>;
  positionals: string[];
  /** For `positionals: 'command'`: the command line to run. */
  commandLine: string[];
  help: boolean;
}

export function parseCommandArgs(tokens: readonly string[], def: CommandDef): ParsedArgs {
  const parsed: ParsedArgs = { options: new Map(), positionals: [], commandLine: [], help: false };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === '--') {
      takeRest(parsed, def, tokens.slice(i + 1));
      break;
    }
    if (token === '-h' || token === '--help') {
      parsed.help = true;
      continue;
    }
    if (token.startsWith('-') && token !== '-') {
      i = readOption(parsed, def, tokens, i);
      continue;
    }
    if (def.positionals === 'command') {
      takeRest(parsed, def, tokens.slice(i));
      break;
    }
    parsed.positionals.push(token);
  }
  if (!parsed.help) checkPositionals(parsed, def);
  return parsed;
}

/** Reads the option at `tokens[i]`; returns the index of the last token it used. */
function readOption(parsed: ParsedArgs, def: CommandDef, tokens: readonly string[], i: number): number {
  const token = tokens[i];
  const eq = token.indexOf('=');
  const name = token.startsWith('--') ? token.slice(2, eq === -1 ? undefined : eq) : '';
  const option = def.options.find((o) => o.name === name);
  if (!option) throw new UsageError(`unknown option ${eq === -1 ? token : token.slice(0, eq)}`, def.name);
  if (option.value === undefined) {
    if (eq !== -1) throw new UsageError(`--${name} does not take a value`, def.name);
    parsed.options.set(name, true);
    return i;
  }
  if (eq !== -1) {
    parsed.options.set(name, token.slice(eq + 1));
    return i;
  }
  const value = tokens[i + 1];
  if (value === undefined || (value.startsWith('--') && value.length > 2)) {
    throw new UsageError(`--${name} needs a value (${option.value})`, def.name);
  }
  parsed.options.set(name, value);
  return i + 1;
}

function takeRest(parsed: ParsedArgs, def: CommandDef, rest: readonly string[]): void {
  if (def.positionals === 'command') parsed.commandLine = [...rest];
  else parsed.positionals.push(...rest);
}

function checkPositionals(parsed: ParsedArgs, def: CommandDef): void {
  if (def.positionals === 'command') return;
  const { min, max, name } = def.positionals;
  const n = parsed.positionals.length;
  if (n < min) throw new UsageError(`missing ${name}`, def.name);
  if (n > max) {
    throw new UsageError(max === 0 ? `unexpected argument ${JSON.stringify(parsed.positionals[0])}` : `unexpected argument ${JSON.stringify(parsed.positionals[max])}`, def.name);
  }
}

/** The value of a value-taking option, if given. */
export function optionValue(parsed: ParsedArgs, name: string): string | undefined {
  const value = parsed.options.get(name);
  return typeof value === 'string' ? value : undefined;
}

export function hasFlag(parsed: ParsedArgs, name: string): boolean {
  return parsed.options.get(name) === true;
}

export function formatCommandHelp(program: string, def: CommandDef): string {
  const lines = [`Usage: ${program} ${def.usage}`, '', def.summary];
  if (def.details) lines.push('', def.details);
  lines.push('', 'Options:');
  const rows = [...def.options.map((o) => [`--${o.name}${o.value ? ` ${o.value}` : ''}`, o.description]), ['-h, --help', 'Show this help']];
  const width = Math.max(...rows.map(([flag]) => flag.length));
  for (const [flag, description] of rows) lines.push(`  ${flag.padEnd(width)}  ${description}`);
  return lines.join('\n') + '\n';
}
