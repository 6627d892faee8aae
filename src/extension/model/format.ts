/**
 * Small text formatters shared by the tree, the status bar, the recover picker and the output
 * view. No `vscode` import: tested in plain Node.
 */
import { formatCost, formatDuration } from '../../core/logRenderer';

export { formatCost, formatDuration };

/** Ends a message with a period unless it ends with punctuation already. */
export function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** 980 → "980", 12_345 → "12.3k", 1_234_567 → "1.2M". */
export function formatTokens(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${trimZero((n / 1000).toFixed(1))}k`;
  return `${trimZero((n / 1_000_000).toFixed(1))}M`;
}

function trimZero(s: string): string {
  return s.endsWith('.0') ? s.slice(0, -2) : s;
}

/** "980 B", "1.5 KB", "4.0 MB" (1024-based, as file managers show log sizes). */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  return `${(n / (1024 * 1024 * 1024)).toFixed(1)} GB`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local time as `YYYY-MM-DD HH:mm:ss`: unambiguous in every locale, sortable by eye. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Local time as `HH:mm`, for short lists. */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago"; a date beyond a week. */
export function formatAgo(ms: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - ms) / 1000));
  if (seconds < 45) return 'just now';
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days <= 7) return days === 1 ? '1 day ago' : `${days} days ago`;
  return formatTimestamp(ms).slice(0, 10);
}

export function plural(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

/**
 * An argv as a reader would type it (for display only, never for execution): elements with
 * spaces or quotes are double-quoted.
 */
export function displayCommandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map(displayArg).join(' ');
}

export function displayArg(arg: string): string {
  if (arg !== '' && !/[\s"'\\$`]/.test(arg)) return arg;
  return `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}

/** The first non-blank line of a text, whitespace collapsed. */
export function firstLine(text: string | null | undefined): string {
  if (!text) return '';
  for (const line of text.split(/\r?\n/)) {
    const t = line.replace(/\s+/g, ' ').trim();
    if (t !== '') return t;
  }
  return '';
}
