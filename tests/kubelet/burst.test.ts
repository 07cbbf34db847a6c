// Which burst goes with an annotation's rate: the kubelet's for --network-plugin=cni, a shaping one for kubenet.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UNLIMITED_BURST, bandwidthCapability, kubenetBurst } from '../../host/kubelet/index.ts';

test('cni: every rate gets the kubelet burst of max int32 bits', () => {
  assert.equal(bandwidthCapability({ ingress: 10_000_000 }), {
    ingressRate: 10_000_000,
    ingressBurst: UNLIMITED_BURST,
  });
});

test('kubenet: 100 ms of the rate, at least 64 KiB, never above the kubelet burst', () => {
  assert.is(kubenetBurst(10_000_000), 1_000_000);
  assert.is(kubenetBurst(1000), 64 * 1024 * 8);
  assert.is(kubenetBurst(1e15), UNLIMITED_BURST);
  assert.equal(bandwidthCapability({ egress: 20_000_000 }, kubenetBurst), {
    egressRate: 20_000_000,
    egressBurst: 2_000_000,
  });
});

test('no annotation, no capability', () => {
  assert.is(bandwidthCapability(null, kubenetBurst), undefined);
});

test.run();
