/**
 * src/core (and the extension's model layer) must run in plain Node: no file there may import
 * `vscode`, directly or through any file it imports. This walks the import graph of the sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../../..');

const SPECIFIER = /(?:\bimport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)?|\bexport\s+(?:type\s+)?(?:[\w*{}\s,$]+\s+from\s+)|\brequire\s*\(\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  return [...source.matchAll(SPECIFIER)].map((m) => m[1]);
}

function resolveRelative(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts'), base]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** Every bare module reached from `roots`, with the import chain that reaches it. */
function reachableModules(roots: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const seen = new Set<string>();
  const queue: { file: string; chain: string[] }[] = roots.map((file) => ({ file, chain: [file] }));
  while (queue.length > 0) {
    const { file, chain } = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        assert.ok(target, `${path.relative(ROOT, file)} imports ${spec}, which does not resolve`);
        queue.push({ file: target, chain: [...chain, target] });
      } else if (!found.has(spec)) {
        found.set(spec, chain);
      }
    }
  }
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function assertNoVscode(roots: readonly string[]): void {
  const modules = reachableModules(roots);
  const chain = modules.get('vscode');
  assert.equal(chain, undefined, `vscode is imported via ${chain?.map((f) => path.relative(ROOT, f)).join(' → ')}`);
}

test('the walker finds vscode through another file (the check can fail)', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-tasks-imports-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b';\nexport const a = b;\n");
  writeFileSync(path.join(dir, 'b.ts'), "// import * as vscode from 'vscode' (a comment does not count)\nexport { c as b } from './c';\n");
  writeFileSync(path.join(dir, 'c.ts'), "import type * as vscode from 'vscode';\nexport const c: vscode.Uri | undefined = undefined;\n");
  assert.throws(() => assertNoVscode([path.join(dir, 'a.ts')]), /vscode is imported via .*a\.ts → .*b\.ts → .*c\.ts/);
  writeFileSync(path.join(dir, 'c.ts'), "const v = require('vscode');\nexport const c = v;\n");
  assert.throws(() => assertNoVscode([path.join(dir, 'a.ts')]), /vscode is imported/);
});

test('no file under src/core imports vscode, directly or indirectly', () => {
  const core = tsFiles(path.join(ROOT, 'src/core'));
  assert.ok(core.length > 5, 'found the core sources');
  assertNoVscode(core);
});

test('src/core imports nothing from src/extension or src/cli', () => {
  for (const file of tsFiles(path.join(ROOT, 'src/core'))) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolveRelative(file, spec) ?? '';
      assert.ok(target.startsWith(path.join(ROOT, 'src/core')), `${path.relative(ROOT, file)} imports ${spec}`);
    }
  }
});

test("the extension's model layer does not import vscode either", () => {
  const roots = [
    ...tsFiles(path.join(ROOT, 'src/extension/model')),
    path.join(ROOT, 'src/extension/errors.ts'),
  ];
  assertNoVscode(roots);
});

test('the extension itself does import vscode (the walker sees real imports)', () => {
  const modules = reachableModules([path.join(ROOT, 'src/extension/extension.ts')]);
  assert.ok(modules.has('vscode'));
  assert.ok(modules.has('node:fs'));
});
