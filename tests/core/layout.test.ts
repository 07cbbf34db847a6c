// The range record's layout is defined once, in assembly/range.ts; host/core keeps a typed mirror
// (RANGE_RECORD) that must agree with what the module states through range_layout().
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RangeSet } from '../../host/core/index.ts';
import { core, f64Area, moduleRangeLayout, RANGE_RECORD, recordArea } from '../../host/core/wasm.ts';

const test = suite('core: range record layout');

test('the TypeScript mirror is what core.wasm states, field by field', () => {
  const stated = moduleRangeLayout(core(), f64Area());
  assert.equal(stated, Object.values(RANGE_RECORD));
  const names = Object.keys(RANGE_RECORD);
  assert.is(names.length, 14);
  assert.is(stated[names.indexOf('bytes')], 96);
});

test('a record written through the mirror reads back through the module (defaults filled in)', () => {
  const set = RangeSet.parse([{ subnet: '10.200.150.0/24', rangeStart: '10.200.150.10' }]);
  assert.is(set.ranges[0]!.rangeStart, '10.200.150.10');
  assert.is(set.ranges[0]!.rangeEnd, '10.200.150.254');
  assert.is(set.ranges[0]!.gateway, '10.200.150.1');
  const at = set.writeRecords();
  assert.is(at, recordArea());
  const w = new Int32Array(core().memory.buffer, at, RANGE_RECORD.bytes / 4);
  assert.is(w[RANGE_RECORD.subnetFamily / 4], 4);
  assert.is(w[RANGE_RECORD.prefix / 4], 24);
  assert.is(w[RANGE_RECORD.flags / 4], RANGE_RECORD.fStart | RANGE_RECORD.fEnd | RANGE_RECORD.fGateway);
  assert.is(w[RANGE_RECORD.startFamily / 4], 4);
  assert.is(w[RANGE_RECORD.endFamily / 4], 4);
  assert.is(w[RANGE_RECORD.gatewayFamily / 4], 4);
  // IPv4 sits in the last word of its slot
  const words = new Uint32Array(core().memory.buffer, at, RANGE_RECORD.bytes / 4);
  assert.is(words[(RANGE_RECORD.gateway + 12) / 4], (10 << 24) + (200 << 16) + (150 << 8) + 1);
  assert.is(words[(RANGE_RECORD.end + 12) / 4], (10 << 24) + (200 << 16) + (150 << 8) + 254);
});

test.run();
