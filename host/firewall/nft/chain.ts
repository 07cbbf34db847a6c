// Chains: regular or base (type, hook, priority, policy), their NEWCHAIN/DELCHAIN payload, and GETCHAIN decoding.
import {
  HOOK,
  NFTA_CHAIN_HANDLE,
  NFTA_CHAIN_HOOK,
  NFTA_CHAIN_NAME,
  NFTA_CHAIN_POLICY,
  NFTA_CHAIN_TABLE,
  NFTA_CHAIN_TYPE,
  NFTA_CHAIN_USE,
  NFTA_CHAIN_USERDATA,
  NFTA_HOOK_HOOKNUM,
  NFTA_HOOK_PRIORITY,
  VERDICT,
  type HookName,
  type NftFamily,
} from './constants.ts';
import {
  be32,
  commentOfUserData,
  commentUserData,
  cstr,
  nest,
  parseAttrs,
  readBe32,
  readBe64,
  readSbe32,
  readStr,
  sbe32,
  objectPayload,
  readObject,
} from './encode.ts';

export interface BaseChainSpec {
  type: 'filter' | 'nat' | 'route';
  hook: HookName;
  priority: number;
  policy?: 'accept' | 'drop';
}

export interface Chain {
  family: NftFamily;
  table: string;
  name: string;
  comment?: string;
  base?: BaseChainSpec;
}

export interface ListedChain extends Chain {
  handle: bigint;
  /** references to it (jumps, gotos) */
  use: number;
}

export function encodeChain(c: Chain, withData: boolean): Buffer {
  const w = objectPayload(c.family);
  w.attr(NFTA_CHAIN_TABLE, cstr(c.table)).attr(NFTA_CHAIN_NAME, cstr(c.name));
  if (withData && c.base) {
    const b = c.base;
    nest(w, NFTA_CHAIN_HOOK, (h) =>
      h.attr(NFTA_HOOK_HOOKNUM, be32(HOOK[b.hook])).attr(NFTA_HOOK_PRIORITY, sbe32(b.priority)),
    );
    if (b.policy) w.attr(NFTA_CHAIN_POLICY, be32(VERDICT[b.policy]));
    w.attr(NFTA_CHAIN_TYPE, cstr(b.type));
  }
  if (withData && c.comment !== undefined) w.attr(NFTA_CHAIN_USERDATA, commentUserData(c.comment));
  return w.bytes();
}

export function decodeChain(data: Buffer): ListedChain | null {
  const { family, a } = readObject(data);
  const table = readStr(a, NFTA_CHAIN_TABLE);
  const name = readStr(a, NFTA_CHAIN_NAME);
  if (!family || table === undefined || name === undefined) return null;
  const c: ListedChain = {
    family,
    table,
    name,
    handle: readBe64(a, NFTA_CHAIN_HANDLE) ?? 0n,
    use: readBe32(a, NFTA_CHAIN_USE) ?? 0,
  };
  const hookBuf = a.get(NFTA_CHAIN_HOOK);
  if (hookBuf) {
    const h = parseAttrs(hookBuf);
    const num = readBe32(h, NFTA_HOOK_HOOKNUM);
    const policy = readBe32(a, NFTA_CHAIN_POLICY);
    c.base = {
      type: (readStr(a, NFTA_CHAIN_TYPE) ?? 'filter') as BaseChainSpec['type'],
      hook: (Object.keys(HOOK) as HookName[]).find((k) => HOOK[k] === num) ?? 'prerouting',
      priority: readSbe32(h, NFTA_HOOK_PRIORITY) ?? 0,
    };
    if (policy !== undefined) c.base.policy = policy === VERDICT.drop ? 'drop' : 'accept';
  }
  const comment = commentOfUserData(a.get(NFTA_CHAIN_USERDATA));
  if (comment !== undefined) c.comment = comment;
  return c;
}
