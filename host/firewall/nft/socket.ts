// One NETLINK_NETFILTER socket opened inside a network namespace (the addon enters it, creates the socket and
// comes back): nf_tables batches (BATCH_BEGIN ... BATCH_END, one atomic transaction, every message ACKed and
// each ACK mapped back to the operation it answers), dumps (retried when the kernel interrupts them) and gets.
import { NetlinkChannel } from '../../net/nl/channel.ts';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_NOOP,
  NLMSG_OVERRUN,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from '../../net/nl/constants.ts';
import { NetlinkError, errnoText } from '../../net/nl/error.ts';
import { decodeError, encodeMessage } from '../../net/nl/message.ts';
import {
  NETLINK_NETFILTER,
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  nftType,
} from './constants.ts';
import { nfgenmsg } from './encode.ts';

const EINTR = 4;
const ENOENT = 2;
const DUMP_RETRIES = 5;

/** One message of a batch: an nf_tables message type (NFT_MSG_*), extra flags, payload, and what it does. */
export interface BatchOp {
  msg: number;
  flags: number;
  payload: Buffer;
  /** nft-like text naming the object ("add rule ip cni_hostport hostports tcp dport 80 ..."), for errors */
  what: string;
}

/** A failed nf_tables request: the kernel's errno (code, errno) and the operation that failed (request). */
export class NftNetlinkError extends NetlinkError {
  constructor(errno: number, what: string, detail?: string) {
    super(errno, { request: what, detail, message: `${what}: ${errnoText(errno)}${detail ? ` (${detail})` : ''}` });
    this.name = 'NftNetlinkError';
  }
}

export class NftSocket extends NetlinkChannel {
  /** Opens a socket inside the namespace at nsPath (none: this process's). */
  static open(nsPath?: string | null, timeoutMs = 10_000): NftSocket {
    const path = nsPath || null;
    return new NftSocket(NetlinkChannel.openFd(path, NETLINK_NETFILTER), path, timeoutMs);
  }

  /**
   * Sends the operations as one transaction. The kernel applies all or none; on failure the first failing
   * operation's error is thrown (NftNetlinkError naming it), or the commit's own error.
   */
  commit(ops: readonly BatchOp[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    return this.serial(() => this.exchangeBatch(ops));
  }

  /** Every object of a dump (each message's payload, nfgenmsg first). */
  dump(msg: number, payload: Buffer, what: string): Promise<Buffer[]> {
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.exchangeOne(msg, NLM_F_DUMP, payload, what, true);
        } catch (e) {
          if (e instanceof NetlinkError && e.errno === EINTR && attempt < DUMP_RETRIES) continue;
          throw e;
        }
      }
    });
  }

  /** A get answered by one object, or null when the kernel says it does not exist (ENOENT). */
  get(msg: number, payload: Buffer, what: string): Promise<Buffer | null> {
    return this.serial(async () => {
      try {
        return (await this.exchangeOne(msg, NLM_F_ACK, payload, what, false))[0] ?? null;
      } catch (e) {
        if (e instanceof NetlinkError && e.errno === ENOENT) return null;
        throw e;
      }
    });
  }

  private async exchangeBatch(ops: readonly BatchOp[]): Promise<void> {
    const begin = this.nextSeq();
    const seqs = ops.map(() => this.nextSeq());
    const end = this.nextSeq();
    const control = nfgenmsg(0, NFNL_SUBSYS_NFTABLES);
    const frames = [
      encodeMessage(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin, control),
      ...ops.map((op, i) => encodeMessage(nftType(op.msg), NLM_F_REQUEST | NLM_F_ACK | op.flags, seqs[i]!, op.payload)),
      encodeMessage(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, control),
    ];
    await this.send(Buffer.concat(frames));
    const errors: Array<NftNetlinkError | undefined> = ops.map(() => undefined);
    let answered = 0;
    let batchError: NftNetlinkError | undefined;
    // the kernel runs the whole batch inside sendmsg(): every answer is queued by now, but wait like any reply
    await this.receive(
      (m) => {
        if (m.type !== NLMSG_ERROR) return false;
        const { errno, detail } = decodeError(m);
        if (m.seq === begin) {
          if (errno !== 0) batchError = new NftNetlinkError(errno, 'commit', detail);
          return false;
        }
        const i = seqs.indexOf(m.seq);
        if (i < 0 || errors[i] !== undefined) return false;
        errors[i] = errno === 0 ? undefined : new NftNetlinkError(errno, ops[i]!.what, detail);
        answered++;
        return answered === ops.length;
      },
      ops.map((o) => o.what).join('; '),
    );
    const first = errors.find((e) => e !== undefined);
    if (first) throw first;
    if (batchError) throw batchError;
  }

  private async exchangeOne(
    msg: number,
    flags: number,
    payload: Buffer,
    what: string,
    isDump: boolean,
  ): Promise<Buffer[]> {
    const seq = this.nextSeq();
    await this.send(encodeMessage(nftType(msg), NLM_F_REQUEST | flags, seq, payload));
    const out: Buffer[] = [];
    let interrupted = false;
    let failure: NetlinkError | undefined;
    await this.receive((m) => {
      if (m.seq !== seq) return false;
      if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
      if (m.type === NLMSG_ERROR || m.type === NLMSG_DONE) {
        const { errno, detail } = decodeError(m, m.type === NLMSG_DONE);
        if (errno !== 0) failure = new NftNetlinkError(errno, what, detail);
        else if (interrupted && isDump)
          failure = new NetlinkError(EINTR, { request: what, message: `${what}: dump interrupted` });
        return true;
      }
      if (m.type !== NLMSG_NOOP && m.type !== NLMSG_OVERRUN) out.push(Buffer.from(m.data));
      // a get without NLM_F_ACK support would stop here; ours always asks for the ACK
      return false;
    }, what);
    if (failure) throw failure;
    return out;
  }

  protected override get label(): string {
    return 'nftables';
  }
}
