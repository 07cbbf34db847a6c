// One way to fail: errorMessage/annotate/withContext (host/errors.ts) and the CNI error boundary
// (errorResponse, host/cni/errors.ts) that skel and dispatch share.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CniError, ErrCode, errorResponse } from '../../host/cni/errors.ts';
import { annotate, errorMessage, withContext } from '../../host/errors.ts';
import { callPlugin } from '../../host/plugins/dispatch.ts';

const test = suite('errors: message, annotate, boundary');

test('errorMessage reads any thrown value', () => {
  assert.is(errorMessage(new Error('boom')), 'boom');
  assert.is(errorMessage(new CniError(ErrCode.InvalidEnv, 'bad env', 'details')), 'bad env');
  assert.is(errorMessage({ message: 'error-like' }), 'error-like');
  assert.is(errorMessage('a string'), 'a string');
  assert.is(errorMessage(42), '42');
  assert.is(errorMessage(undefined), 'undefined');
  assert.is(errorMessage(null), 'null');
});

test('annotate: `<context>: <cause>` with the cause kept', () => {
  const cause = new CniError(ErrCode.IOFailure, 'no such file or directory');
  const e = annotate(cause, 'failed to open netns "/x"');
  assert.is(e.message, 'failed to open netns "/x": no such file or directory');
  assert.is(e.cause, cause);
  assert.not.instance(e, CniError); // a wrapped CniError is a plain error (code 999), as before
  assert.is(annotate('text', 'ctx').message, 'ctx: text');
});

test('withContext annotates a failing step (sync or async) and passes a result through', async () => {
  assert.is(await withContext('never', () => 7), 7);
  assert.is(await withContext('never', async () => 'ok'), 'ok');
  for (const step of [
    () => {
      throw new Error('sync');
    },
    async () => {
      throw new Error('async');
    },
  ]) {
    try {
      await withContext('failed to do it', step);
      assert.unreachable('should have thrown');
    } catch (e) {
      assert.match(errorMessage(e), /^failed to do it: (sync|async)$/);
      assert.instance((e as Error).cause, Error);
    }
  }
});

test('errorResponse: CNI error JSON on stdout (4-space indent, details only when set), exit 1, empty stderr', () => {
  assert.equal(errorResponse(new CniError(ErrCode.InvalidEnv, 'bad', 'why')), {
    exitCode: 1,
    stdout: '{\n    "code": 4,\n    "msg": "bad",\n    "details": "why"\n}',
    stderr: '',
  });
  assert.equal(errorResponse(new Error('plain')), {
    exitCode: 1,
    stdout: '{\n    "code": 999,\n    "msg": "plain"\n}',
    stderr: '',
  });
  assert.equal(errorResponse('thrown text').stdout, '{\n    "code": 999,\n    "msg": "thrown text"\n}');
});

test('dispatch answers through the same boundary (unknown plugin, a handler that throws)', async () => {
  const unknown = await callPlugin('nope', { env: {}, stdin: new Uint8Array() }, {});
  assert.equal(unknown, errorResponse(new CniError(ErrCode.Internal, 'unknown plugin "nope"', 'wasm-cni ships: ')));
  const table = {
    broken: async () => async () => {
      throw new Error('handler bug');
    },
  };
  const res = await callPlugin('broken', { env: {}, stdin: new Uint8Array() }, table);
  assert.equal(res, errorResponse(new Error('handler bug')));
});

test.run();
