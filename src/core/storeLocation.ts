import * as os from 'node:os';
import * as path from 'node:path';

/** The extension's id (`publisher.name`); VS Code names the extension's global storage folder after it. */
export const EXTENSION_ID = 'agenttasks.agent-tasks';

/**
 * The folder the extension keeps its task store in when it runs in desktop VS Code: its
 * `globalStorageUri`, i.e. `<user data>/User/globalStorage/agenttasks.agent-tasks`, where the
 * user data folder is
 *   Linux:   `${XDG_CONFIG_HOME:-~/.config}/Code`
 *   macOS:   `~/Library/Application Support/Code`
 *   Windows: `%APPDATA%\Code`
 * (`VSCODE_APPDATA` replaces the platform folder, as VS Code itself does).
 *
 * Only stable VS Code started without `--user-data-dir` uses these folders: Insiders (`Code - Insiders`),
 * VSCodium, Cursor and other forks, portable mode, code-server and remote hosts keep their global
 * storage elsewhere. There, pass the folder explicitly (`agent-tasks --store DIR` or `AGENT_TASKS_STORE`).
 */
export function defaultStoreDir(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  return p.join(appDataDir(platform, env, home), 'Code', 'User', 'globalStorage', EXTENSION_ID);
}

/** Desktop VS Code's user settings file (the same folders as defaultStoreDir): where `agentTasks.agents` of the user lives. */
export function vscodeUserSettingsFile(
  platform: NodeJS.Platform = process.platform,
  env: NodeJS.ProcessEnv = process.env,
  home: string = os.homedir(),
): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  return p.join(appDataDir(platform, env, home), 'Code', 'User', 'settings.json');
}

function appDataDir(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): string {
  if (env.VSCODE_APPDATA) return env.VSCODE_APPDATA;
  switch (platform) {
    case 'win32':
      return env.APPDATA || path.win32.join(home, 'AppData', 'Roaming');
    case 'darwin':
      return path.posix.join(home, 'Library', 'Application Support');
    default:
      return env.XDG_CONFIG_HOME || path.posix.join(home, '.config');
  }
}
