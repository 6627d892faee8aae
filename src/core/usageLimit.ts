/**
 * Usage limits. An agent on a subscription can stop because the plan's usage limit was reached:
 * Claude Code on a claude.ai login prints a `rate_limit_event` with status `rejected` and the
 * limit's reset time, then an error result ("You've hit your session limit · resets 4:04pm
 * (UTC)"), and exits 1. Such a run need not fail: its owner (TaskRunner) journals it `waiting`
 * with `resume_at`, and at that time spawns the agent again on the same session (the resume argv
 * the caller gave, `TaskSpec.resumeAfterLimit`), in the same row and the same log. The finish of
 * the resumed process is the run's finish.
 *
 * This module decides (from the parser's summary of the process that ended) whether and until
 * when to wait, sleeps until then, caps the number of automatic resumes, and adds up what the
 * run's processes used. TaskExecution (taskRunner.ts) does the process and journal work.
 *
 * What counts as a usage limit, checked against the real CLI (2.1.197, a 429 with
 * `anthropic-ratelimit-unified-status: rejected`, test/fixtures/agent-output/real/claude-rate-limit-rejected.jsonl):
 *   {"type":"rate_limit_event","rate_limit_info":{"status":"rejected","resetsAt":<seconds since the epoch>,"rateLimitType":"five_hour",…}}
 *   {"type":"assistant","message":{"model":"<synthetic>","content":[{"type":"text","text":"You've hit your session limit · resets 4:04pm (UTC)"}],…},"error":"rate_limit",…}
 *   {"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"You've hit your session limit · resets 4:04pm (UTC)",…}
 * Older CLIs (1.0.x) ended with the result text "Claude AI usage limit reached|<seconds since the
 * epoch>", which is read too. The limit counts only when the process ended failed (not killed by
 * a signal): a rejected status the agent got past is no reason to wait.
 *
 * Not waited for (the run ends as it would without this feature): no reset time, a reset time
 * already past, or one more than MAX_LIMIT_WAIT_MS ahead.
 */
import { MAX_PERMISSION_DENIALS, type OutputSummary } from './outputParsers';
import type { PermissionDenial, RunningPatch } from './taskTypes';

/** How to continue a run's session after a usage limit (`TaskSpec.resumeAfterLimit`). */
export interface ResumeAfterLimit {
  /** The argv after the command that resumes the run's session, already expanded (the profile's resume args). Never journaled. */
  readonly args: readonly string[];
  /** Written to the resumed agent's stdin (its prompt); absent: it gets none. An interactive run needs it: it is the first user message. */
  readonly stdin?: string;
  /** At most this many automatic resumes for the run (default DEFAULT_MAX_LIMIT_RESUMES). */
  readonly maxResumes?: number;
}

export const DEFAULT_MAX_LIMIT_RESUMES = 5;
/** A reset further ahead than this is not waited for (a wrong clock, a garbled value, a monthly cap). */
export const MAX_LIMIT_WAIT_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * A long wait sleeps in slices and checks the wall clock after each: a machine that was suspended,
 * or whose clock was set, still resumes at `resume_at` (a single timer runs on a monotonic clock
 * that stops during suspend).
 */
const WAIT_SLICE_MS = 60_000;

/** "Claude AI usage limit reached|1751562000" (Claude Code 1.0.x). */
const LEGACY_LIMIT_TEXT = /usage limit reached\|(\d{9,11})\s*$/i;

export interface UsageLimit {
  /** When the limit resets (ms since the epoch), when the agent said. */
  readonly resetAt: number | null;
  /** The agent's own message, if any. */
  readonly message: string | null;
}

/**
 * The usage limit that stopped a process, from its parser's summary; null when it did not stop on
 * one. The caller checks first that the process ended failed.
 */
export function usageLimitOf(summary: OutputSummary): UsageLimit | null {
  const message = summary.errorMessage;
  if (summary.rateLimit?.status === 'rejected') {
    const seconds = summary.rateLimit.resetsAt;
    return { resetAt: seconds !== null && seconds > 0 ? Math.round(seconds * 1000) : null, message };
  }
  const legacy = message === null ? null : LEGACY_LIMIT_TEXT.exec(message);
  if (legacy) return { resetAt: Number(legacy[1]) * 1000, message };
  return null;
}

/** What to do after a process of the run ended failed. */
export type LimitDecision =
  /** No usable usage limit: the run ends as it ended. */
  | { readonly kind: 'none' }
  /** Wait until `resumeAt` (ms since the epoch), then resume. */
  | { readonly kind: 'wait'; readonly resumeAt: number }
  /** A limit again, but the run was resumed `maxResumes` times already: it ends failed with this error. */
  | { readonly kind: 'give-up'; readonly error: string };

/** A problem with a `resumeAfterLimit` value, as the TaskSpecError message; null when it is fine. */
export function resumeAfterLimitProblem(value: unknown, context: { interactive: boolean }): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'resumeAfterLimit must be an object ({ args, stdin? })';
  const r = value as Partial<ResumeAfterLimit>;
  if (!Array.isArray(r.args) || !r.args.every((a) => typeof a === 'string')) return 'resumeAfterLimit.args must be an array of strings';
  const nul = r.args.findIndex((a) => a.includes('\0'));
  if (nul !== -1) return `resumeAfterLimit.args[${nul}] contains a NUL character`;
  if (r.stdin !== undefined && typeof r.stdin !== 'string') return 'resumeAfterLimit.stdin must be a string';
  if (context.interactive && r.stdin === undefined) return 'resumeAfterLimit.stdin is required for an interactive agent (it is the first user message of the resumed run)';
  if (r.maxResumes !== undefined && !(Number.isInteger(r.maxResumes) && r.maxResumes >= 0)) return 'resumeAfterLimit.maxResumes must be an integer ≥ 0';
  return null;
}

/**
 * One run's usage-limit waits: decides, after each process, whether to wait; sleeps until the
 * reset; counts the resumes. Its timer keeps the process alive (a supervisor has nothing else to
 * wait on); `cancel()` drops it.
 */
export class LimitWaits {
  private resumes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly maxResumes: number;

  constructor(
    readonly resume: ResumeAfterLimit,
    private readonly now: () => number = Date.now,
  ) {
    this.maxResumes = resume.maxResumes ?? DEFAULT_MAX_LIMIT_RESUMES;
  }

  /** How many times the run was resumed after a limit. */
  get resumed(): number {
    return this.resumes;
  }

  get isWaiting(): boolean {
    return this.timer !== undefined;
  }

  /** After a process of the run ended failed (not by a signal, not stopped): wait or not. */
  decide(summary: OutputSummary): LimitDecision {
    const limit = usageLimitOf(summary);
    if (limit === null || limit.resetAt === null) return { kind: 'none' };
    const ahead = limit.resetAt - this.now();
    if (ahead <= 0 || ahead > MAX_LIMIT_WAIT_MS) return { kind: 'none' };
    if (this.resumes >= this.maxResumes) {
      const said = limit.message ? `: ${limit.message}` : '';
      return { kind: 'give-up', error: `Usage limit reached again after ${this.resumes} automatic resume${this.resumes === 1 ? '' : 's'} (the most allowed)${said}` };
    }
    return { kind: 'wait', resumeAt: limit.resetAt };
  }

  /** Sleeps until `resumeAt` by the wall clock, then calls `onDue` (counted as a resume). */
  wait(resumeAt: number, onDue: () => void): void {
    this.cancel();
    const tick = (): void => {
      const left = resumeAt - this.now();
      if (left > 0) {
        this.timer = setTimeout(tick, Math.min(left, WAIT_SLICE_MS));
        return;
      }
      this.timer = undefined;
      this.resumes++;
      onDue();
    };
    this.timer = setTimeout(tick, Math.min(Math.max(0, resumeAt - this.now()), WAIT_SLICE_MS));
  }

  /** Drops a pending wait; true when there was one. */
  cancel(): boolean {
    if (this.timer === undefined) return false;
    clearTimeout(this.timer);
    this.timer = undefined;
    return true;
  }
}

type UsageColumns = Pick<RunningPatch, 'input_tokens' | 'output_tokens' | 'cache_read_tokens' | 'cache_creation_tokens' | 'cost_usd'>;

/**
 * What a run used over all its processes. Each process of a resumed run reports only its own
 * usage (Claude's result: the tokens and `total_cost_usd` of that invocation), so the row shows
 * the sum: everything the processes before the last resume used, plus what the current one has
 * reported so far. Denials add up the same way (capped at MAX_PERMISSION_DENIALS). A run that
 * was never resumed shows its process's numbers unchanged.
 */
export class RunUsage {
  private before: UsageColumns = { input_tokens: null, output_tokens: null, cache_read_tokens: null, cache_creation_tokens: null, cost_usd: null };
  private denialsBefore: PermissionDenial[] = [];
  private denialCountBefore = 0;

  /** The row's usage columns: the earlier processes' plus this summary's (null where neither said anything). */
  columns(summary: OutputSummary): UsageColumns {
    return {
      input_tokens: plus(this.before.input_tokens, summary.inputTokens),
      output_tokens: plus(this.before.output_tokens, summary.outputTokens),
      cache_read_tokens: plus(this.before.cache_read_tokens, summary.cacheReadTokens),
      cache_creation_tokens: plus(this.before.cache_creation_tokens, summary.cacheCreationTokens),
      cost_usd: plus(this.before.cost_usd, summary.costUsd),
    };
  }

  denials(summary: OutputSummary): { permission_denials: PermissionDenial[]; permission_denial_count: number } {
    return {
      permission_denials: [...this.denialsBefore, ...summary.permissionDenials].slice(0, MAX_PERMISSION_DENIALS),
      permission_denial_count: this.denialCountBefore + summary.permissionDenialCount,
    };
  }

  /** A process ended and the run goes on in another: what it used is carried over. */
  carry(summary: OutputSummary): void {
    this.before = this.columns(summary);
    const denials = this.denials(summary);
    this.denialsBefore = denials.permission_denials;
    this.denialCountBefore = denials.permission_denial_count;
  }
}

function plus(a: number | null | undefined, b: number | null): number | null {
  if (a === null || a === undefined) return b;
  return b === null ? a : a + b;
}
