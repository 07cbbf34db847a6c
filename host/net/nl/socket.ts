// One netlink socket bound to a network namespace: sequence numbers, one request in flight at a time,
// ACK/error decoding, multi-part dumps (retried when the kernel reports an interrupted dump), batches.
import { NetlinkChannel } from './channel.ts';
import {
  NETLINK_ROUTE,
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from './constants.ts';
import { NetlinkError } from './error.ts';
import { decodeError, encodeMessage, type NlMessage } from './message.ts';

const EINTR = 4;
const DUMP_RETRIES = 5;

export interface NlRequest {
  type: number;
  /** extra flags (NLM_F_CREATE, NLM_F_EXCL, ...); REQUEST and ACK are added */
  flags?: number;
  payload: Uint8Array;
  /** name for error reports ("RTM_NEWLINK") */
  name?: string;
  /** the kernel may take long inside sendmsg (it waits for RCU grace periods when a link goes away): send it
   * from a thread of its own so the event loop keeps running and other namespaces' requests can proceed */
  slow?: boolean;
}

export class NetlinkSocket extends NetlinkChannel {
  /** Opens a socket inside the namespace at nsPath (null: this process's). */
  static open(nsPath: string | null = null, protocol = NETLINK_ROUTE, timeoutMs = 10_000): NetlinkSocket {
    return new NetlinkSocket(NetlinkChannel.openFd(nsPath, protocol), nsPath, timeoutMs);
  }

  /** A request answered by an ACK (and possibly messages before it, e.g. a GET by name). */
  request(req: NlRequest): Promise<NlMessage[]> {
    const site = new Error();
    return this.serial(async () => unwrap((await this.exchange([req], false))[0], site));
  }

  /** A dump: every NLM_F_MULTI message up to NLMSG_DONE. */
  dump(req: NlRequest): Promise<NlMessage[]> {
    const site = new Error();
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        const r = (await this.exchange([req], true))[0];
        if (r instanceof NetlinkError && r.errno === EINTR && attempt < DUMP_RETRIES) continue;
        return unwrap(r, site);
      }
    });
  }

  /** Several requests in one datagram, each with its own ACK. The kernel runs all of them in order even if
   * one fails, so this settles to a per-request result: the messages before its ACK, or its error. */
  batch(reqs: NlRequest[]): Promise<Array<NlMessage[] | NetlinkError>> {
    return this.serial(() => this.exchange(reqs, false));
  }

  private async exchange(reqs: NlRequest[], isDump: boolean): Promise<Array<NlMessage[] | NetlinkError>> {
    const seqs = reqs.map(() => this.nextSeq());
    const frames = reqs.map((r, i) =>
      encodeMessage(r.type, NLM_F_REQUEST | (isDump ? NLM_F_DUMP : NLM_F_ACK) | (r.flags ?? 0), seqs[i], r.payload),
    );
    await this.send(
      frames.length === 1 ? frames[0] : Buffer.concat(frames),
      reqs.some((r) => r.slow),
    );

    const results: Array<NlMessage[] | NetlinkError | undefined> = reqs.map(() => undefined);
    const collected: NlMessage[][] = reqs.map(() => []);
    const interrupted = reqs.map(() => false);
    let pending = reqs.length;
    await this.receive(
      (msg) => {
        const i = seqs.indexOf(msg.seq);
        if (i < 0 || results[i] !== undefined) return false; // a late reply to an abandoned request
        if (msg.flags & NLM_F_DUMP_INTR) interrupted[i] = true;
        if (msg.type === NLMSG_ERROR || msg.type === NLMSG_DONE) {
          const { errno, detail } = decodeError(msg, msg.type === NLMSG_DONE);
          if (errno !== 0) results[i] = new NetlinkError(errno, { detail, request: reqs[i].name });
          else if (interrupted[i])
            results[i] = new NetlinkError(EINTR, { request: reqs[i].name, message: 'dump interrupted' });
          else results[i] = collected[i];
          pending--;
        } else if (msg.type !== NLMSG_NOOP && msg.type !== NLMSG_OVERRUN) {
          collected[i].push(msg);
        }
        return pending === 0;
      },
      reqs.map((r) => r.name ?? r.type).join(', '),
      reqs[0].name,
    );
    return results as Array<NlMessage[] | NetlinkError>;
  }
}

/** Throws an error result with the stack of the call that made the request (the queue hides it otherwise). */
function unwrap(r: NlMessage[] | NetlinkError, site: Error): NlMessage[] {
  if (r instanceof NetlinkError) {
    r.stack = `${r.name}: ${r.message}${site.stack?.slice(site.stack.indexOf('\n')) ?? ''}`;
    throw r;
  }
  return r;
}
