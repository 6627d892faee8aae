import { UsageError, type ParsedArgs } from '../argParser';

/** The ID positional of a verb that acts on one task (an empty one would match every task). */
export function taskIdArg(parsed: ParsedArgs, command: string): string {
  const id = parsed.positionals[0];
  if (id === undefined || id.trim() === '') throw new UsageError('the task ID must not be empty', command);
  return id;
}
