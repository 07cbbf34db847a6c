// ipam.resolvConf: a resolv.conf-style file turned into the result's DNS, read the reference's way
// (trimmed lines; '#'/';' comments; nameserver appends, domain replaces, search/options append every word).
import { readFileSync } from 'node:fs';
import { ownCaller, type CallerContext } from '../../cni/caller.ts';
import type { DNS } from '../../cni/types.ts';
import { goFsError } from './goerror.ts';

/** `path` is the caller's, read in its filesystem view. */
export function parseResolvConf(path: string, caller: CallerContext = ownCaller): DNS {
  let text: string;
  try {
    text = readFileSync(caller.resolve(path), 'utf8');
  } catch (e) {
    throw goFsError(e, (e as NodeJS.ErrnoException).code === 'EISDIR' ? 'read' : 'open', path);
  }
  const dns: DNS = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === ';') continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [key, first, ...rest] = fields as [string, string, ...string[]];
    if (key === 'nameserver') dns.nameservers = [...(dns.nameservers ?? []), first];
    else if (key === 'domain') dns.domain = first;
    else if (key === 'search') dns.search = [...(dns.search ?? []), first, ...rest];
    else if (key === 'options') dns.options = [...(dns.options ?? []), first, ...rest];
  }
  return dns;
}
