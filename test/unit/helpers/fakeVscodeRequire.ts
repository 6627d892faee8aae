/**
 * Routes `require('vscode')` to the fake (fakeVscode.ts) for the extension's modules loaded
 * after this one, and loads them: the tests that activate the extension in plain Node.
 * `restoreRequire()` puts Node's resolution back (in a test file's `after`).
 */
import Module from 'node:module';
import * as path from 'node:path';

const moduleWithResolve = Module as unknown as { _resolveFilename(request: string, ...rest: unknown[]): string };
const originalResolve = moduleWithResolve._resolveFilename;
moduleWithResolve._resolveFilename = function (request: string, ...rest: unknown[]) {
  if (request === 'vscode') return path.join(__dirname, 'fakeVscode.js');
  return originalResolve.call(this, request, ...rest);
};

export function restoreRequire(): void {
  moduleWithResolve._resolveFilename = originalResolve;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const vscode = require('./fakeVscode') as typeof import('./fakeVscode');
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const extension = require('../../../src/extension/extension') as typeof import('../../../src/extension/extension');
