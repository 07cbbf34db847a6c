import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { projectRoot, buildDir } from '../host/paths.ts';

test('project root and build dir are found', () => {
  assert.ok(existsSync(`${projectRoot}/package.json`));
  assert.ok(buildDir.startsWith(projectRoot));
});

test.run();
