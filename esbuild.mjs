// Bundles the extension and the CLI, and ships sql.js's wasm next to them.
//   node esbuild.mjs               development build (linked source maps, not minified)
//   node esbuild.mjs --production  what `vsce package` ships (minified, no source maps)
//   node esbuild.mjs --watch       rebuild on change (the F5 launch configuration uses it)
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(fileURLToPath(import.meta.url));
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const dist = path.join(root, 'dist');

/**
 * In watch mode, one line per build start/end and per error, in the shape the "watch" task's
 * problem matcher in .vscode/tasks.json reads.
 * @type {import('esbuild').Plugin}
 */
const watchReporter = {
  name: 'watch-reporter',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(location ? `${location.file}:${location.line}:${location.column + 1}: error: ${text}` : `error: ${text}`);
      }
      console.log('[watch] build finished');
    });
  },
};

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: production,
  sourcemap: production ? false : 'linked',
  sourcesContent: false,
  // jsonc-parser's "main" is a UMD build whose inner require()s esbuild leaves unbundled; its
  // "module" build is plain ESM. (sql.js resolves through its "exports" field either way.)
  mainFields: ['module', 'main'],
  // `vscode` is provided by the extension host; sql.js's wasm is loaded from dist/ at run time.
  external: ['vscode'],
  logLevel: watch ? 'warning' : 'info',
  absWorkingDir: root,
  plugins: watch ? [watchReporter] : [],
};

// esbuild keeps an entry point's own `#!` line; add one only when the source has none.
const cliSource = await readFile(path.join(root, 'src/cli/main.ts'), 'utf8');
const cliBanner = cliSource.startsWith('#!') ? {} : { banner: { js: '#!/usr/bin/env node' } };

const builds = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', ...cliBanner },
  // A run's supervisor: no sql.js in it (it only appends to the journal), so it starts fast and stays small.
  { ...common, entryPoints: ['src/cli/supervisorMain.ts'], outfile: 'dist/supervisor.js' },
];

async function copyWasm() {
  const require = createRequire(import.meta.url);
  const wasm = require.resolve('sql.js/dist/sql-wasm.wasm');
  await copyFile(wasm, path.join(dist, 'sql-wasm.wasm'));
}

// Stale maps from a development build must not end up in a package.
await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await copyWasm();
if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  await Promise.all(contexts.map((c) => c.watch()));
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
