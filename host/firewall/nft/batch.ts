// A transaction under construction: the operations of one call, in order, each with nft-like text naming it.
// `NftSocket.commit(batch.ops)` sends them between BATCH_BEGIN and BATCH_END: all apply or none.
import { NLM_F_APPEND, NLM_F_CREATE } from '../../net/nl/constants.ts';
import { encodeChain, type Chain } from './chain.ts';
import {
  NFT_MSG_DELCHAIN,
  NFT_MSG_DELRULE,
  NFT_MSG_DELTABLE,
  NFT_MSG_NEWCHAIN,
  NFT_MSG_NEWRULE,
  NFT_MSG_NEWTABLE,
  type NftFamily,
} from './constants.ts';
import { encodeRule, encodeRuleRef, type Rule } from './rule.ts';
import type { BatchOp } from './socket.ts';
import { encodeTable, type Table } from './table.ts';

export interface ChainRef {
  family: NftFamily;
  table: string;
  name: string;
}

const quoted = (s: string) => `"${s}"`;

export class Batch {
  readonly ops: BatchOp[] = [];

  get length(): number {
    return this.ops.length;
  }

  /** `add table` (created when missing, left as it is otherwise). */
  addTable(t: Table): this {
    return this.push(NFT_MSG_NEWTABLE, NLM_F_CREATE, encodeTable(t, true), `add table ${t.family} ${t.name}`);
  }

  deleteTable(t: Table): this {
    return this.push(NFT_MSG_DELTABLE, 0, encodeTable(t, false), `delete table ${t.family} ${t.name}`);
  }

  /** `add chain` (created when missing; an existing chain keeps its rules). */
  addChain(c: Chain): this {
    const base = c.base ? ` { type ${c.base.type} hook ${c.base.hook} priority ${c.base.priority} }` : '';
    return this.push(
      NFT_MSG_NEWCHAIN,
      NLM_F_CREATE,
      encodeChain(c, true),
      `add chain ${c.family} ${c.table} ${c.name}${base}`,
    );
  }

  /** `delete chain`: removes its rules with it; fails (EBUSY) while another rule jumps to it. */
  deleteChain(c: ChainRef): this {
    return this.push(
      NFT_MSG_DELCHAIN,
      0,
      encodeChain({ ...c }, false),
      `delete chain ${c.family} ${c.table} ${c.name}`,
    );
  }

  flushChain(c: ChainRef): this {
    return this.push(
      NFT_MSG_DELRULE,
      0,
      encodeRuleRef({ family: c.family, table: c.table, chain: c.name }),
      `flush chain ${c.family} ${c.table} ${c.name}`,
    );
  }

  /** `add rule` (appended). */
  addRule(r: Rule): this {
    return this.push(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, encodeRule(r), `add rule ${ruleText(r)}`);
  }

  /** `insert rule` (at the head of the chain). */
  insertRule(r: Rule): this {
    return this.push(NFT_MSG_NEWRULE, NLM_F_CREATE, encodeRule(r), `insert rule ${ruleText(r)}`);
  }

  deleteRule(r: { family: NftFamily; table: string; chain: string; handle: bigint }): this {
    return this.push(
      NFT_MSG_DELRULE,
      0,
      encodeRuleRef(r),
      `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`,
    );
  }

  private push(msg: number, flags: number, payload: Buffer, what: string): this {
    this.ops.push({ msg, flags, payload, what });
    return this;
  }
}

function ruleText(r: Rule): string {
  const body = r.text ?? `(${r.exprs.map((e) => e.type).join(' ')})`;
  return `${r.family} ${r.table} ${r.chain} ${body}${r.comment !== undefined ? ` comment ${quoted(r.comment)}` : ''}`;
}
