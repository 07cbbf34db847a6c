// Opening a pod namespace by path: ns.GetNS's check and the plugins' `failed to open netns` wording
// (containernetworking/plugins v1.9.1 pkg/ns), in one place for bridge, bandwidth, loopback and net/context.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { NetnsNotFoundError, checkNetnsPath } from '../../host/native/netns.ts';
import { withNetnsFd } from '../../host/net/context.ts';
import { openNetns } from '../../host/net/handle.ts';
import { errorMessage } from '../../host/errors.ts';

const test = suite('net: opening a namespace by path');
const missing = '/run/netns/wasm-cni-test-missing-netns';

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a failure');
}

test('a missing path: Statfs wording, a NetnsNotFoundError underneath', async () => {
  assert.throws(
    () => checkNetnsPath(missing),
    (e: unknown) => e instanceof NetnsNotFoundError,
  );
  assert.throws(() => checkNetnsPath(missing), `failed to Statfs "${missing}": no such file or directory`);
  const e = await failure(openNetns(missing));
  assert.is(e.message, `failed to open netns "${missing}": failed to Statfs "${missing}": no such file or directory`);
  assert.instance(e.cause, NetnsNotFoundError);
});

test('a file that is not a namespace: FS magic wording', async () => {
  const e = await failure(openNetns('/etc/hostname'));
  assert.match(e.message, /^failed to open netns "\/etc\/hostname": unknown FS magic on "\/etc\/hostname": [0-9a-f]+$/);
  assert.not.instance(e.cause, NetnsNotFoundError);
});

test('an empty path is an error, never this process namespace', async () => {
  const e = await failure(openNetns(''));
  assert.is(e.message, 'failed to open netns "": failed to Statfs "": no such file or directory');
});

test('a namespace opens; withNetnsFd words its failure the same way (code kept)', async () => {
  const h = await openNetns('/proc/self/ns/net');
  h.close();
  const e = (await failure(withNetnsFd(missing, async () => undefined))) as Error & { code?: string };
  assert.is(errorMessage(e), `failed to open netns "${missing}": no such file or directory`);
  assert.is(e.code, 'ENOENT');
});

test.run();
