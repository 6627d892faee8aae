/** `agent-tasks logs`: a task's output, rendered as text (or raw), optionally following it to the end of the run. */
import { promises as fsp } from 'node:fs';
import { createLogRenderer, type LogRenderer } from '../../core/logRenderer';
import { runEndOf, watchTask } from '../../core/runControl';
import { READ_FLAGS, errorCode, isLinkError } from '../../core/storeFiles';
import type { TaskStore } from '../../core/taskStore';
import { isLive, type TaskRow } from '../../core/taskTypes';
import { hasFlag, type ParsedArgs } from '../argParser';
import { EXIT_USAGE, PROGRAM, STORE_OPTION, writeErr } from '../common';
import { isDirectory, lookupTask, openStore, closeStore } from '../store';
import type { Command } from './command';
import { taskIdArg } from './taskArg';

const READ_CHUNK_BYTES = 256 * 1024;

export const logsCommand: Command = {
  def: {
    name: 'logs',
    summary: "Print a task's output, rendered as readable text; --follow keeps printing until the run ends.",
    usage: 'logs ID [--follow] [--raw]',
    positionals: { min: 1, max: 1, name: 'the task ID' },
    options: [
      { name: 'follow', description: 'Keep printing what the task writes; end when the run ends' },
      { name: 'raw', description: 'The bytes as the task wrote them (no rendering, no cleaning)' },
      STORE_OPTION,
    ],
    details: [
      'ID may be any unique prefix of the task id. Claude stream-json and Codex JSONL output is',
      'rendered as text, as in VS Code\'s Show Output. The rendered text is made safe for a terminal:',
      'escape sequences (colours, titles, cursor moves, OSC links), other control characters and bidi',
      'overrides are removed, and a line rewritten with carriage returns shows as it would end up.',
      '--raw prints the log file byte for byte (escapes included). Large logs are streamed.',
      'Exit code: 0; 1 when the task has no log file; 2 for an unknown or ambiguous ID.',
    ].join('\n'),
  },
  run,
};

async function run(parsed: ParsedArgs, storeDir: string): Promise<number> {
  const idOrPrefix = taskIdArg(parsed, 'logs');
  if (!(await isDirectory(storeDir))) {
    writeErr(`${PROGRAM}: no task with id ${JSON.stringify(idOrPrefix)} (there is no task store at ${storeDir})\n`);
    return EXIT_USAGE;
  }
  const store = await openStore(storeDir, 'read');
  const sink = new StdoutSink();
  try {
    const found = await lookupTask(store, idOrPrefix);
    if ('problem' in found) {
      writeErr(`${PROGRAM}: ${found.problem}`);
      return EXIT_USAGE;
    }
    const row = found.row;
    const copier = new LogCopier(logFileOf(store, row), hasFlag(parsed, 'raw') ? null : createLogRenderer(row.format), sink);
    try {
      let last = row;
      if (hasFlag(parsed, 'follow')) {
        last = await watchTask(
          store,
          row.id,
          async (current) => {
            if (!current) throw new Error(`task ${row.id} vanished from the journal`);
            // The end is decided before the last read: the owner closes the log before it records
            // the finish, so everything the log will ever hold is read below.
            const end = await runEndOf(store, current);
            await copier.copyAvailable();
            return end !== undefined ? end.row : sink.closed ? current : undefined;
          },
          { alsoWatch: copier.file },
        );
      } else {
        await copier.copyAvailable();
      }
      if (!copier.existed) {
        writeErr(`${PROGRAM}: task ${row.id.slice(0, 8)} has no output log: ${copier.file} does not exist${isLive(last.status) ? ' yet' : ''}\n`);
        return 1;
      }
      await copier.end();
      return 0;
    } finally {
      await copier.close();
    }
  } finally {
    await closeStore(store);
  }
}

/** Where the runner writes the task's output (the row's log_path names the same file unless the store was moved). */
function logFileOf(store: TaskStore, row: TaskRow): string {
  try {
    return store.logPathFor(row.id);
  } catch {
    return row.log_path ?? store.dir;
  }
}

/** Copies a log file to stdout from where it left off, rendered or raw, a chunk at a time. */
class LogCopier {
  private handle: fsp.FileHandle | undefined;
  private offset = 0;
  private readonly buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  /** True once the file was found. */
  existed = false;

  constructor(
    readonly file: string,
    private readonly renderer: LogRenderer | null,
    private readonly sink: StdoutSink,
  ) {}

  /** Copies what the file holds now; false when it does not exist (yet). */
  async copyAvailable(): Promise<boolean> {
    if (!this.handle) {
      try {
        this.handle = await fsp.open(this.file, READ_FLAGS);
      } catch (err) {
        if (errorCode(err) === 'ENOENT') return false;
        if (isLinkError(err)) throw new Error(`the log ${this.file} is a symbolic link: not followed`);
        throw err;
      }
      this.existed = true;
    }
    while (!this.sink.closed) {
      const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      const chunk = this.buffer.subarray(0, bytesRead);
      // The renderer keeps its own copy of a partial line; a raw chunk is copied before the buffer is reused.
      await this.sink.write(this.renderer ? terminalSafe(this.renderer.push(chunk)) : Buffer.from(chunk));
    }
    return true;
  }

  /** A last line without a newline. */
  async end(): Promise<void> {
    if (this.renderer) await this.sink.write(terminalSafe(this.renderer.end()));
  }

  async close(): Promise<void> {
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }
}

/** stdout with backpressure; a reader that went away (`| head`) ends the copy quietly. */
class StdoutSink {
  closed = false;

  constructor() {
    // Kept for the rest of the process: an EPIPE reported at exit stays quiet too.
    process.stdout.on('error', () => {
      this.closed = true;
    });
  }

  write(data: string | Buffer): Promise<void> {
    if (this.closed || data.length === 0) return Promise.resolve();
    if (process.stdout.write(data)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        process.stdout.off('drain', done);
        process.stdout.off('error', done);
        process.stdout.off('close', done);
        resolve();
      };
      process.stdout.on('drain', done);
      process.stdout.on('error', done);
      process.stdout.on('close', done);
    });
  }
}

// CSI (colours, cursor), OSC (titles, links, clipboard), DCS/SOS/PM/APC strings, two-byte escapes, 8-bit CSI.
const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]/g;
// Every other C0/C1 control but tab and newline (a lone ESC too), and the bidi overrides and isolates.
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const NEEDS_CLEANING = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

/**
 * Rendered log text that cannot drive the terminal: an agent's output (a tool result, a file it
 * printed) is untrusted, and an escape sequence in it could retitle the window, write the
 * clipboard (OSC 52), fake a link or redraw earlier lines. A line rewritten with `\r` (progress
 * bars) keeps what was written last, as a terminal would end up showing it.
 */
export function terminalSafe(text: string): string {
  if (!NEEDS_CLEANING.test(text)) return text;
  return text
    .replace(ESCAPES, '')
    .split('\n')
    .map((line) => (line.includes('\r') ? lastSegment(line) : line).replace(CONTROLS, ''))
    .join('\n');
}

function lastSegment(line: string): string {
  const segments = line.split('\r');
  for (let i = segments.length - 1; i >= 0; i--) if (segments[i].trim() !== '') return segments[i];
  return '';
}
