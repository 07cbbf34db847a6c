// kubenet's one masquerade rule (kubernetes v1.23 pkg/kubelet/dockershim/network/kubenet/kubenet_linux.go,
// ensureMasqRule): traffic to non-local destinations outside --non-masquerade-cidr is MASQUERADEd, in nat POSTROUTING,
// for the CIDR's family only. Through host/firewall (check-then-append in one restore).
import { familyOf } from '../core/index.ts';
import { annotate } from '../errors.ts';
import { ensureRules, removeRules } from '../firewall/ensure.ts';
import { listChain, splitSaveLine, type IpFamily, type Rule } from '../firewall/iptables.ts';

export const MASQ_COMMENT = 'kubenet: SNAT for outbound traffic from cluster';

/** null when the rule is disabled (0.0.0.0/0 or ::/0). */
export function masqRule(nonMasqueradeCidr: string): { family: IpFamily; rule: Rule } | null {
  if (nonMasqueradeCidr === '0.0.0.0/0' || nonMasqueradeCidr === '::/0') return null;
  const family: IpFamily = familyOf(nonMasqueradeCidr);
  return {
    family,
    rule: [
      '-m',
      'comment',
      '--comment',
      MASQ_COMMENT,
      '-m',
      'addrtype',
      '!',
      '--dst-type',
      'LOCAL',
      '!',
      '-d',
      nonMasqueradeCidr,
      '-j',
      'MASQUERADE',
    ],
  };
}

export async function ensureMasqRule(nonMasqueradeCidr: string): Promise<void> {
  const r = masqRule(nonMasqueradeCidr);
  if (!r) return;
  try {
    await ensureRules({
      family: r.family,
      table: 'nat',
      chains: [],
      rules: [{ chain: 'POSTROUTING', rule: r.rule, own: false }],
    });
  } catch (e) {
    throw annotate(e, 'failed to ensure that nat chain POSTROUTING jumps to MASQUERADE');
  }
}

/** Removes the rule (the kubelet never does; node teardown in the demo and tests does). */
export async function removeMasqRule(nonMasqueradeCidr: string): Promise<void> {
  const r = masqRule(nonMasqueradeCidr);
  if (!r) return;
  await removeRules({
    family: r.family,
    table: 'nat',
    entryRules: [{ chain: 'POSTROUTING', rule: r.rule }],
    chains: [],
    scanForJumps: [],
  });
}

/** The kubenet masquerade rules present in POSTROUTING (iptables -S lines), for both families. */
export async function listMasqRules(): Promise<string[]> {
  const out: string[] = [];
  for (const f of [4, 6] as const) {
    let lines: string[] | null = null;
    try {
      lines = await listChain(f, 'nat', 'POSTROUTING');
    } catch {
      /* family unusable */
    }
    for (const l of lines ?? []) if (splitSaveLine(l).includes(MASQ_COMMENT)) out.push(l);
  }
  return out;
}
