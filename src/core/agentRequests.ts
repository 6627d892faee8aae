import type { JournalRecord } from './journalOps';
import { isLive, type RequestAnswered, type TaskRow } from './taskTypes';

/**
 * What both journals (TaskStore, a supervisor's AppendOnlyJournal) agree on about requests: the
 * first answer journaled for a request is the one its agent gets, and an answer to a request that
 * is not open is refused with a reason a person can act on.
 */

/** Remembers which requests have had their answer, so that each is relayed once, the first in log order. */
export class FirstAnswers {
  /** Request → the nonce of its first answer. */
  private readonly winners = new Map<string, string>();

  /** The answer, when it is the first one read for its request; undefined for a later one. */
  first(rec: Extract<JournalRecord, { op: 'answer' }>): RequestAnswered | undefined {
    const key = `${rec.id}\n${rec.request}`;
    if (this.winners.has(key)) return undefined;
    this.winners.set(key, rec.nonce);
    return { id: rec.id, request: rec.request, answer: rec.answer, by: rec.by, at: rec.at };
  }

  /** The nonce of the answer that counted for this request, once one was read. */
  winnerOf(id: string, request: string): string | undefined {
    return this.winners.get(`${id}\n${request}`);
  }
}

/** Why an answer to `requestId` of task `id` cannot be taken; undefined when the request is open. */
export function requestProblem(row: TaskRow | undefined, id: string, requestId: string): string | undefined {
  const short = id.slice(0, 8);
  if (!row) return `There is no task ${short}.`;
  if (!isLive(row.status)) return `Task ${short} is not running any more (${row.status}): its requests are closed.`;
  if (!row.pending_requests.some((r) => r.id === requestId)) {
    return row.pending_requests.length === 0
      ? `Task ${short} has no open request (request ${requestId} was answered already, or withdrawn).`
      : `Task ${short} has no open request ${requestId} (answered already, or withdrawn); open: ${row.pending_requests.map((r) => r.id).join(', ')}.`;
  }
  return undefined;
}

/** Why an answer was refused although the request was open when it was written: another one landed first. */
export function answeredFirstElsewhere(id: string, requestId: string): string {
  return `Request ${requestId} of task ${id.slice(0, 8)} was answered by someone else first.`;
}
