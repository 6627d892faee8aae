import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import initSqlJs from 'sql.js';
import type { SqlJsStatic } from 'sql.js';

/**
 * Loads sql.js once per process. The wasm bytes are read asynchronously and handed over, so
 * sql.js never falls back to its own synchronous file read.
 */

let loading: Promise<SqlJsStatic> | undefined;
let wasmPathOverride: string | undefined;

/** Where the bundle ships `sql-wasm.wasm` (the extension and the CLI set this to their dist folder). */
export function setSqlWasmPath(p: string): void {
  wasmPathOverride = p;
}

async function findWasm(): Promise<Buffer> {
  const candidates = [
    wasmPathOverride,
    path.join(__dirname, 'sql-wasm.wasm'),
    (() => {
      try {
        return require.resolve('sql.js/dist/sql-wasm.wasm');
      } catch {
        return undefined;
      }
    })(),
  ].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      return await fsp.readFile(p);
    } catch {
      // try the next place
    }
  }
  throw new Error(`sql-wasm.wasm not found (looked in: ${candidates.join(', ')})`);
}

export function loadSqlJs(): Promise<SqlJsStatic> {
  loading ??= findWasm().then((wasmBinary) => initSqlJs({ wasmBinary: wasmBinary as unknown as ArrayBuffer }));
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
