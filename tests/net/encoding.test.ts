// The wire layer of host/net without a kernel: attributes, framing, error payloads, addresses, tc handles.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkLinkName, formatTcHandle, parseTcHandle, sysctlPath } from '../../host/net/index.ts';
import { attrList, attrNested, attrStr, attrU32, parseAttrs, PayloadWriter } from '../../host/net/nl/attrs.ts';
import { NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_ERROR } from '../../host/net/nl/constants.ts';
import { NetlinkError } from '../../host/net/nl/error.ts';
import {
  bytesToIp,
  ipToBytes,
  maskPrefix,
  parsePrefix,
  formatPrefix,
  macToBytes,
  bytesToMac,
} from '../../host/net/nl/ip.ts';
import { decodeError, decodeMessages, encodeMessage } from '../../host/net/nl/message.ts';

const T = suite('net: encoding');

T('attributes are 4-byte aligned, nested lengths cover their children', () => {
  const w = new PayloadWriter(8)
    .raw(Buffer.from([1, 2, 3, 4, 5]))
    .str(3, 'eth0')
    .u32(4, 1500);
  w.nest(18, (n) => n.str(1, 'veth').nest(2, (d) => d.u8(7, 1)), true);
  const b = w.bytes();
  assert.is(b.length % 4, 0);
  assert.equal([...b.subarray(0, 8)], [1, 2, 3, 4, 5, 0, 0, 0]);
  const a = parseAttrs(b, 8);
  assert.is(attrStr(a, 3), 'eth0');
  assert.is(attrU32(a, 4), 1500);
  const nested = attrNested(a, 18)!;
  assert.is(attrStr(nested, 1), 'veth');
  assert.equal([...attrNested(nested, 2)!.get(7)!], [1]);
  assert.is(b.readUInt16LE(8 + 12 + 8 + 2) & 0x8000, 0x8000, 'NLA_F_NESTED set when asked');
  assert.is(b.readUInt16LE(8 + 12 + 8), 4 + 12 + 12, 'nest length');
});

T('attrList keeps repeated attributes in order and stops at a truncated one', () => {
  const w = new PayloadWriter().u32(2, 10).u32(2, 20).u32(2, 30);
  const b = Buffer.concat([w.bytes(), Buffer.from([0xff, 0x00, 0x01, 0x00])]);
  assert.equal(
    attrList(b).map(([t, v]) => [t, v.readUInt32LE(0)]),
    [
      [2, 10],
      [2, 20],
      [2, 30],
    ],
  );
});

T('messages: header fields, several per datagram, padding', () => {
  const one = encodeMessage(16, 0x405, 7, Buffer.from([9, 9, 9]));
  assert.is(one.readUInt32LE(0), 19);
  assert.is(one.length, 20);
  const two = encodeMessage(3, 2, 8, Buffer.alloc(4));
  const msgs = decodeMessages(Buffer.concat([one, two]));
  assert.equal(
    msgs.map((m) => [m.type, m.flags, m.seq, m.data.length]),
    [
      [16, 0x405, 7, 3],
      [3, 2, 8, 4],
    ],
  );
});

T('error payloads: errno, echoed request skipped, extended-ack text', () => {
  const request = encodeMessage(16, 5, 1, Buffer.alloc(16));
  const tlv = new PayloadWriter().str(1, 'Unknown device type').bytes();
  const errno = Buffer.alloc(4);
  errno.writeInt32LE(-95);
  const full = { type: NLMSG_ERROR, flags: NLM_F_ACK_TLVS, seq: 1, pid: 0, data: Buffer.concat([errno, request, tlv]) };
  assert.equal(decodeError(full), { errno: 95, detail: 'Unknown device type' });
  const capped = {
    ...full,
    flags: NLM_F_ACK_TLVS | NLM_F_CAPPED,
    data: Buffer.concat([errno, request.subarray(0, 16), tlv]),
  };
  assert.equal(decodeError(capped), { errno: 95, detail: 'Unknown device type' });
  const ack = { ...full, flags: 0, data: Buffer.concat([Buffer.alloc(4), request]) };
  assert.equal(decodeError(ack), { errno: 0 });
});

T('NetlinkError carries the errno name and the text Go prints', () => {
  const e = new NetlinkError(17, { request: 'RTM_NEWLINK' });
  assert.equal([e.code, e.errno, e.message, e.request], ['EEXIST', 17, 'file exists', 'RTM_NEWLINK']);
  assert.is(new NetlinkError(19).message, 'no such device');
  assert.is(new NetlinkError(101).message, 'network is unreachable');
  assert.is(new NetlinkError(3).code, 'ESRCH');
});

T('IP addresses: bytes and canonical text (RFC 5952)', () => {
  assert.equal([...ipToBytes('10.200.30.1')], [10, 200, 30, 1]);
  for (const [text, canon] of [
    ['fd00:200:30::1', 'fd00:200:30::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
    ['fe80::', 'fe80::'],
  ]) {
    assert.is(bytesToIp(ipToBytes(text)), canon, text);
  }
  assert.throws(() => ipToBytes('10.1.2'), /invalid IP address/);
  assert.is(formatPrefix(maskPrefix(parsePrefix('10.200.30.77/20'))), '10.200.16.0/20');
  assert.is(formatPrefix(maskPrefix(parsePrefix('fd00:200:30::77/64'))), 'fd00:200:30::/64');
  assert.is(parsePrefix('10.1.2.3').prefixLen, 32);
  assert.throws(() => parsePrefix('10.1.2.3/33'), /invalid CIDR/);
  assert.throws(() => parsePrefix('10.1.2.3/2x'), /invalid CIDR/);
  assert.is(bytesToMac(macToBytes('0A:00:27:00:00:0F')), '0a:00:27:00:00:0f');
  assert.throws(() => macToBytes('0a:00:27:00:00'), /invalid MAC/);
});

T('tc handles', () => {
  assert.is(parseTcHandle('1:'), 0x10000);
  assert.is(parseTcHandle('1:1'), 0x10001);
  assert.is(parseTcHandle('ffff:'), 0xffff0000);
  assert.is(parseTcHandle('root'), 0xffffffff);
  assert.is(parseTcHandle('ingress'), 0xfffffff1);
  assert.is(formatTcHandle(0x10000), '1:');
  assert.is(formatTcHandle(0xffff0000), 'ffff:');
  assert.is(formatTcHandle(0x10001), '1:1');
  assert.throws(() => parseTcHandle('1'), /invalid tc handle/);
});

T('link names and sysctl keys', () => {
  checkLinkName('eth0');
  checkLinkName('a'.repeat(15));
  assert.throws(() => checkLinkName('a'.repeat(16)), /longer than 15 bytes/);
  assert.throws(() => checkLinkName(''), /not a valid interface name/);
  assert.throws(() => checkLinkName('a/b'), /not a valid interface name/);
  assert.is(sysctlPath('net.ipv4.ip_forward'), 'net/ipv4/ip_forward');
  assert.is(sysctlPath('net/ipv4/conf/cni0.100/forwarding'), 'net/ipv4/conf/cni0.100/forwarding');
  assert.is(sysctlPath('/proc/sys/net/ipv4/ip_forward'), 'net/ipv4/ip_forward');
});

T.run();
