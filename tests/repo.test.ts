// The repository stands on its own: nothing in it points outside the checkout (a private notes folder beside
// it, an absolute path of one machine), and the quick loop's list (tests/unit.list) names real, root-free files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../host/paths.ts';

const self = fileURLToPath(import.meta.url);
const SOURCE_DIRS = ['host', 'tests', 'bench', 'assembly', 'shims', 'scripts', 'deploy', 'docs', 'bin', '.ci'];
const SKIP = new Set(['node_modules', 'build', '.git']);

function* files(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (SKIP.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.isFile()) yield p;
  }
}

function repoFiles(): string[] {
  const top = readdirSync(projectRoot, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.(md|json|jsonc|cjs|sh)$/.test(e.name) && e.name !== 'package-lock.json')
    .map((e) => join(projectRoot, e.name));
  return [...top, ...SOURCE_DIRS.flatMap((d) => [...files(join(projectRoot, d))])].filter((f) => f !== self);
}

const R = suite('repository');

R('no file cites or reaches for the private notes outside the checkout', () => {
  // The names are the notes files' names; a fact from them belongs in docs/reference-notes.md instead.
  const notes = [
    'plugins.md',
    'observed-reference',
    'kubelet-network',
    'cni-spec.md',
    'errors-and-edge',
    'kubelet-tests',
    'summary.md',
    'toolchain.md',
    'deployment.md',
  ];
  const outside = /\.\.\/shared\b|\/work\/shared\b|\/work\/(main|wt)\b/;
  const hits: string[] = [];
  for (const f of repoFiles()) {
    const text = readFileSync(f, 'utf8');
    for (const [i, line] of text.split('\n').entries()) {
      if (outside.test(line) || notes.some((n) => line.includes(n))) {
        hits.push(`${relative(projectRoot, f)}:${i + 1}: ${line.trim()}`);
      }
    }
  }
  assert.equal(hits, []);
});

R('every file of the quick loop (tests/unit.list) exists and uses no namespace, reference binary or build', () => {
  const listed = readFileSync(join(projectRoot, 'tests/unit.list'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(listed.length > 10, 'the list is read');
  for (const f of listed) {
    if (join(projectRoot, f) === self) continue;
    assert.ok(f.endsWith('.test.ts') && existsSync(join(projectRoot, f)), `${f} is a test file`);
    const text = readFileSync(join(projectRoot, f), 'utf8');
    const markers = [
      /\.netns\(/,
      /\/usr\/lib\/cni/,
      /build\.sh/,
      /\bcniBinDir\b/,
      /\bstartDaemon\b/,
      /run\('(ip|ip6?tables|nft|tc)'/,
    ];
    for (const marker of markers) {
      assert.not.ok(marker.test(text), `${f} matches ${marker}: it belongs to the whole suite only`);
    }
  }
});

R.run();
