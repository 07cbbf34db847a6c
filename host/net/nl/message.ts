// nlmsghdr framing: one request into bytes, a datagram into messages, and error/ack payloads.
import { attrList } from './attrs.ts';
import { NLMSG_HDRLEN, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSGERR_ATTR_MSG } from './constants.ts';

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** payload after the 16-byte header */
  data: Buffer;
}

export function encodeMessage(type: number, flags: number, seq: number, payload: Uint8Array): Buffer {
  const len = NLMSG_HDRLEN + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt32LE(len, 0);
  b.writeUInt16LE(type, 4);
  b.writeUInt16LE(flags, 6);
  b.writeUInt32LE(seq >>> 0, 8);
  b.writeUInt32LE(0, 12);
  b.set(payload, NLMSG_HDRLEN);
  return b;
}

export function decodeMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  let at = 0;
  while (at + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || at + len > buf.length) break;
    out.push({
      type: buf.readUInt16LE(at + 4),
      flags: buf.readUInt16LE(at + 6),
      seq: buf.readUInt32LE(at + 8),
      pid: buf.readUInt32LE(at + 12),
      data: buf.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += (len + 3) & ~3;
  }
  return out;
}

export interface NlErrorPayload {
  /** 0 for an ACK, else a positive errno */
  errno: number;
  /** extended-ack text, if any */
  detail?: string;
}

/** NLMSG_ERROR / NLMSG_DONE payload: an int error, then (errors only) the echoed request header, then TLVs. */
export function decodeError(msg: NlMessage, isDone = false): NlErrorPayload {
  if (msg.data.length < 4) return { errno: 0 };
  const errno = -msg.data.readInt32LE(0);
  if (!(msg.flags & NLM_F_ACK_TLVS)) return { errno };
  let tlvAt = 4;
  if (!isDone && msg.data.length >= 4 + NLMSG_HDRLEN) {
    const echoedLen = msg.data.readUInt32LE(4);
    tlvAt = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : (echoedLen + 3) & ~3);
  }
  const msgAttr = attrList(msg.data, tlvAt).find(([t]) => t === NLMSGERR_ATTR_MSG);
  const detail = msgAttr ? msgAttr[1].toString('utf8').replace(/\0.*$/s, '') : undefined;
  return { errno, detail };
}
