// Netlink errors as values: the errno name ("EEXIST") and the text Go prints for it ("file exists").
import { getSystemErrorName } from 'node:util';
import { addon } from '../../native/addon.ts';

export class NetlinkError extends Error {
  /** errno name, e.g. "EEXIST", "ENODEV". */
  readonly code: string;
  /** positive errno number */
  readonly errno: number;
  /** the kernel's extended-ack message, when it sent one */
  readonly detail?: string;
  /** the request that failed, e.g. "RTM_NEWLINK" */
  readonly request?: string;

  /** message defaults to the errno text alone, exactly what the Go plugins wrap ("file exists"). */
  constructor(errno: number, opts: { detail?: string; request?: string; message?: string } = {}) {
    super(opts.message ?? errnoText(errno));
    this.name = 'NetlinkError';
    this.errno = errno;
    this.code = errnoName(errno);
    this.detail = opts.detail;
    this.request = opts.request;
  }
}

export function errnoName(errno: number): string {
  try {
    return getSystemErrorName(-errno);
  } catch {
    return `E${errno}`;
  }
}

export function errnoText(errno: number): string {
  return addon().errnoText(errno);
}

/** True for a NetlinkError with the given errno name ("EEXIST", "ENOENT", ...). */
export function isErrno(e: unknown, code: string): boolean {
  return e instanceof NetlinkError && e.code === code;
}
