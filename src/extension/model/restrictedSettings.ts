/**
 * In Restricted Mode VS Code hides the workspace values of the settings an extension declares
 * restricted (`capabilities.untrustedWorkspaces.restrictedConfigurations`): `inspect()` returns
 * no workspace value at all. To tell a user *why* a profile their folder defines does not run,
 * the extension reads the workspace's settings files itself. What is read here is only ever
 * used to explain a refusal, never to run anything.
 */

/** JSON with comments and trailing commas (VS Code's settings format); undefined when unreadable. */
export function parseJsonc(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? text.length : end + 1;
      out += ' ';
    } else {
      out += c;
    }
  }
  try {
    return JSON.parse(out.replace(/,(\s*[}\]])/g, '$1'));
  } catch {
    return undefined;
  }
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
