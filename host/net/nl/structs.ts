// The fixed headers that start each rtnetlink payload.

export interface IfInfoMsg {
  family: number;
  type: number;
  index: number;
  flags: number;
  change: number;
}
export const IFINFOMSG_LEN = 16;
export function ifInfoMsg(m: Partial<IfInfoMsg> = {}): Buffer {
  const b = Buffer.alloc(IFINFOMSG_LEN);
  b.writeUInt8(m.family ?? 0, 0);
  b.writeUInt16LE(m.type ?? 0, 2);
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.change ?? 0) >>> 0, 12);
  return b;
}
export function readIfInfoMsg(b: Buffer): IfInfoMsg {
  return {
    family: b[0],
    type: b.readUInt16LE(2),
    index: b.readInt32LE(4),
    flags: b.readUInt32LE(8),
    change: b.readUInt32LE(12),
  };
}

export interface IfAddrMsg {
  family: number;
  prefixLen: number;
  flags: number;
  scope: number;
  index: number;
}
export const IFADDRMSG_LEN = 8;
export function ifAddrMsg(m: IfAddrMsg): Buffer {
  const b = Buffer.alloc(IFADDRMSG_LEN);
  b[0] = m.family;
  b[1] = m.prefixLen;
  b[2] = m.flags & 0xff;
  b[3] = m.scope;
  b.writeUInt32LE(m.index, 4);
  return b;
}
export function readIfAddrMsg(b: Buffer): IfAddrMsg {
  return { family: b[0], prefixLen: b[1], flags: b[2], scope: b[3], index: b.readUInt32LE(4) };
}

export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}
export const RTMSG_LEN = 12;
export function rtMsg(m: Partial<RtMsg>): Buffer {
  const b = Buffer.alloc(RTMSG_LEN);
  b[0] = m.family ?? 0;
  b[1] = m.dstLen ?? 0;
  b[2] = m.srcLen ?? 0;
  b[3] = m.tos ?? 0;
  b[4] = m.table ?? 0;
  b[5] = m.protocol ?? 0;
  b[6] = m.scope ?? 0;
  b[7] = m.type ?? 0;
  b.writeUInt32LE((m.flags ?? 0) >>> 0, 8);
  return b;
}
export function readRtMsg(b: Buffer): RtMsg {
  return {
    family: b[0],
    dstLen: b[1],
    srcLen: b[2],
    tos: b[3],
    table: b[4],
    protocol: b[5],
    scope: b[6],
    type: b[7],
    flags: b.readUInt32LE(8),
  };
}

export interface NdMsg {
  family: number;
  index: number;
  state: number;
  flags: number;
  type: number;
}
export const NDMSG_LEN = 12;
export function ndMsg(m: Partial<NdMsg>): Buffer {
  const b = Buffer.alloc(NDMSG_LEN);
  b[0] = m.family ?? 0;
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt16LE(m.state ?? 0, 8);
  b[10] = m.flags ?? 0;
  b[11] = m.type ?? 0;
  return b;
}
export function readNdMsg(b: Buffer): NdMsg {
  return { family: b[0], index: b.readInt32LE(4), state: b.readUInt16LE(8), flags: b[10], type: b[11] };
}

export interface TcMsg {
  family: number;
  index: number;
  handle: number;
  parent: number;
  info: number;
}
export const TCMSG_LEN = 20;
export function tcMsg(m: Partial<TcMsg>): Buffer {
  const b = Buffer.alloc(TCMSG_LEN);
  b[0] = m.family ?? 0;
  b.writeInt32LE(m.index ?? 0, 4);
  b.writeUInt32LE((m.handle ?? 0) >>> 0, 8);
  b.writeUInt32LE((m.parent ?? 0) >>> 0, 12);
  b.writeUInt32LE((m.info ?? 0) >>> 0, 16);
  return b;
}
export function readTcMsg(b: Buffer): TcMsg {
  return {
    family: b[0],
    index: b.readInt32LE(4),
    handle: b.readUInt32LE(8),
    parent: b.readUInt32LE(12),
    info: b.readUInt32LE(16),
  };
}
