/**
 * In Restricted Mode VS Code hides the workspace values of the settings an extension declares
 * restricted (`capabilities.untrustedWorkspaces.restrictedConfigurations`): `inspect()` returns
 * no workspace value at all. To tell a user *why* a profile their folder defines does not run,
 * the extension reads the workspace's settings files itself. What is read here is only ever
 * used to explain a refusal, never to run anything.
 */
import { parse, type ParseError } from 'jsonc-parser';

/**
 * JSON with comments and trailing commas (VS Code's settings format), read by Microsoft's
 * jsonc-parser (what VS Code itself uses); undefined when unreadable: empty, or with any syntax
 * error (a half-read file is not used to explain anything).
 */
export function parseJsonc(text: string): unknown {
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false, allowEmptyContent: false });
  return errors.length === 0 ? value : undefined;
}

/** The value of a dotted setting key in a settings.json object (or a .code-workspace's "settings"). */
export function settingFromFile(parsed: unknown, key: string): unknown {
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  return (parsed as Record<string, unknown>)[key];
}

/** Profiles from several folders' settings, as one object of names (later folders do not override earlier ones). */
export function mergeFolderProfiles(values: readonly unknown[]): unknown {
  const objects = values.filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v));
  if (objects.length === 0) return undefined;
  return Object.assign({}, ...[...objects].reverse());
}
