// CNI spec versions: the list we speak, comparisons, and the result families.

/** Every spec version, oldest first. */
export const SPEC_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type SpecVersion = (typeof SPEC_VERSIONS)[number];

/** The newest spec version we implement (what VERSION reports as `cniVersion`). */
export const CURRENT_VERSION: SpecVersion = '1.1.0';

/** Our release, shown in the plugins' about text and `wasm-cni version`. */
export const WASM_CNI_VERSION = '0.1.0';

/** The versions from `min` on (like the reference's VersionsStartingFrom). */
export function versionsFrom(min: SpecVersion): string[] {
  return SPEC_VERSIONS.slice(SPEC_VERSIONS.indexOf(min));
}

/** Version parsing as the reference does it for ≥ comparisons: up to 3 integer parts, "" = 0.1.0. Throws with Go's wording. */
export function parseVersion(v: string): [number, number, number] {
  if (v === '') return [0, 1, 0];
  const parts = v.split('.');
  if (parts.length >= 4) throw new Error(`invalid version "${v}": too many parts`);
  const names = ['major', 'minor', 'micro'];
  const out: [number, number, number] = [0, 0, 0];
  parts.forEach((p, i) => {
    if (!/^[+-]?[0-9]+$/.test(p))
      throw new Error(
        `failed to convert ${names[i]} version part "${p}": strconv.Atoi: parsing "${p}": invalid syntax`,
      );
    out[i] = Number(p);
  });
  return out;
}

export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** The result shape a version uses: 0.1.0/0.2.0 (ip4/ip6), 0.3.x/0.4.0 (ips with version), 1.x. */
export type ResultFamily = '0.2' | '0.4' | '1.x';

export const FAMILY_VERSIONS: Record<ResultFamily, readonly string[]> = {
  '0.2': ['', '0.1.0', '0.2.0'],
  '0.4': ['0.3.0', '0.3.1', '0.4.0'],
  '1.x': ['1.0.0', '1.1.0'],
};

export function resultFamily(version: string): ResultFamily | undefined {
  for (const [f, vs] of Object.entries(FAMILY_VERSIONS)) if (vs.includes(version)) return f as ResultFamily;
  return undefined;
}
