import type { SegmentInfo } from './historyArchive';

/** What a user is told about a damaged archive segment: what was kept, and what is missing. */
export function describeSegmentDamage(
  dir: string,
  damage: { name: string; problem: string; listed: SegmentInfo | undefined; movedTo: string | undefined },
  salvagedRows: number,
): string {
  const where = damage.movedTo ? `and moved aside to ${damage.movedTo}` : 'and left in place (the store is opened read-only)';
  const head = `The history archive segment ${damage.name} in ${dir} was damaged (${damage.problem}) ${where}`;
  const seg = damage.listed;
  if (!seg) return `${head}: its ${salvagedRows} readable rows were kept.`;
  const missing = Math.max(0, seg.rows - salvagedRows);
  if (missing === 0) return `${head}: all of its ${seg.rows} rows were recovered.`;
  return `${head}: ${salvagedRows} of its ${seg.rows} rows were recovered; about ${missing} rows of history from ${day(seg.oldest_started)} to ${day(seg.newest_started)} are missing.`;
}

function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
