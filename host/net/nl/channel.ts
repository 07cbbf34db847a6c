// What every netlink socket of ours shares, whatever its protocol (rtnetlink in socket.ts, nf_tables in
// host/firewall/nft/socket.ts): a socket the addon opened inside a network namespace, one exchange in flight at
// a time, sequence numbers, and a receive loop that waits on the event loop until the reply is complete.
import { addon } from '../../native/addon.ts';
import { NetlinkError } from './error.ts';
import { decodeMessages, type NlMessage } from './message.ts';

const ETIMEDOUT = 110;

export class NetlinkChannel {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private queue: Promise<unknown> = Promise.resolve();

  protected constructor(
    private fd: number,
    readonly nsPath: string | null,
    readonly timeoutMs: number,
  ) {}

  /** A socket of `protocol` inside the namespace at nsPath (null: this process's). */
  protected static openFd(nsPath: string | null, protocol: number): number {
    return addon().netlinkOpen(nsPath, protocol);
  }

  get closed(): boolean {
    return this.fd < 0;
  }

  close(): void {
    if (this.fd >= 0) addon().netlinkClose(this.fd);
    this.fd = -1;
  }

  /** Runs fn after every earlier exchange on this socket has settled (their replies would interleave). */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  protected nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Sends one datagram; with `slow`, from a thread of its own (the kernel does the work inside sendmsg). */
  protected async send(datagram: Uint8Array, slow = false): Promise<void> {
    if (this.fd < 0) throw new Error(`${this.label} socket is closed`);
    if (slow) await addon().netlinkSendAsync(this.fd, datagram);
    else addon().netlinkSend(this.fd, datagram);
  }

  /** Feeds every message received to onMessage until it returns true, then returns once nothing more is
   * queued. Throws ETIMEDOUT (naming `what`) when the reply is not complete within timeoutMs. */
  protected async receive(onMessage: (m: NlMessage) => boolean, what: string, request?: string): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let done = false;
    for (;;) {
      const dgram = this.fd < 0 ? null : addon().netlinkRecv(this.fd);
      if (!dgram) {
        if (done) return;
        const left = deadline - Date.now();
        if (left <= 0 || this.fd < 0)
          throw new NetlinkError(ETIMEDOUT, {
            request: request ?? what,
            message: `${this.label} ${what}: no reply within ${this.timeoutMs} ms`,
          });
        await addon().netlinkWait(this.fd, left);
        continue;
      }
      for (const m of decodeMessages(dgram)) if (onMessage(m)) done = true;
    }
  }

  /** How errors name this kind of socket ("netlink", "nftables"). */
  protected get label(): string {
    return 'netlink';
  }
}
