/**
 * The environment of an agent CLI run offline against the mock model server: a private HOME and
 * TMPDIR, and every proxy pointing at the mock (whatever the agent tries to reach besides its base
 * URL is recorded and refused there). No side effects at load: the e2e suite imports it too.
 */
import * as path from 'node:path';

export function offlineEnv(dirs: { home: string; tmp: string }, origin: string): Record<string, string> {
  return {
    HOME: dirs.home,
    USERPROFILE: dirs.home,
    XDG_CONFIG_HOME: path.join(dirs.home, '.config'),
    XDG_CACHE_HOME: path.join(dirs.home, '.cache'),
    XDG_DATA_HOME: path.join(dirs.home, '.local', 'share'),
    XDG_STATE_HOME: path.join(dirs.home, '.local', 'state'),
    TMPDIR: dirs.tmp,
    HTTPS_PROXY: origin,
    HTTP_PROXY: origin,
    https_proxy: origin,
    http_proxy: origin,
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    NO_COLOR: '1',
  };
}

/** Claude Code against the mock: its base URL, a mock credential, no updates, telemetry or retries beyond `retries`. */
export function claudeOfflineEnv(dirs: { home: string; tmp: string }, origin: string, options: { retries?: number; oauth?: boolean } = {}): Record<string, string> {
  return {
    ...offlineEnv(dirs, origin),
    ANTHROPIC_BASE_URL: origin,
    ...(options.oauth ? { CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-mock-token' } : { ANTHROPIC_API_KEY: 'sk-ant-api03-mock-key' }),
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    CLAUDE_CODE_MAX_RETRIES: String(options.retries ?? 0),
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
}
