// Runs the whole suite (every property, one profile) against named mutants of
// the simulator and says which property killed each, after how many cases,
// with the shrunk counterexample. Used by `npm run mutants` and by
// tests/mutants.test.ts.

import { simulatorTarget } from '../adapters/simulator/index.ts';
import { MUTANTS, type Mutant } from '../adapters/simulator/mutants.ts';
import { propertyId, type AnyProperty } from '../core/property.ts';
import type { Json } from '../core/json.ts';
import type { PropertyResult } from '../core/result.ts';
import { runProperty } from '../core/runner.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';

export interface KillOptions {
  readonly runs: number;
  readonly seed: number;
  /** the rules the mutant is judged by (default mainline) */
  readonly profile?: string;
  /** stop at the first property that fails (faster; `kills` then has at most one entry) */
  readonly firstOnly?: boolean;
  readonly properties?: readonly AnyProperty[];
}

export interface MutantVerdict {
  readonly mutant: Mutant;
  /** the first property of the suite (in its order) that failed */
  readonly killer?: PropertyResult;
  /** every property that failed */
  readonly kills: readonly PropertyResult[];
  /** properties that broke (verdict error): not kills */
  readonly errors: readonly PropertyResult[];
  readonly durationMs: number;
}

export async function killMutant(m: Mutant, o: KillOptions): Promise<MutantVerdict> {
  const t0 = performance.now();
  const profile = getProfile(o.profile ?? 'mainline') as Profile;
  const target = simulatorTarget({ knobs: m.knobs, label: `sim:${m.name}` });
  const info = await target.open();
  const kills: PropertyResult[] = [];
  const errors: PropertyResult[] = [];
  try {
    for (const p of o.properties ?? ALL_PROPERTIES) {
      if (p.kind === 'design') continue; // no target involved: cannot see a mutant
      const r = await runProperty(
        p,
        { target, info, profile },
        {
          runs: o.runs,
          seed: o.seed,
          strict: false,
          replayCommand: (q, seed, path) =>
            `npx s2conform run --target sim:${m.name} --profile ${profile.name} --property ${propertyId(q)} --seed ${seed} --path ${path} --runs ${o.runs}`,
        },
      );
      if (r.verdict === 'fail') kills.push(r);
      if (r.verdict === 'error') errors.push(r);
      if (o.firstOnly && kills.length > 0) break;
    }
  } finally {
    await target.close();
  }
  const killer = kills[0];
  return { mutant: m, ...(killer ? { killer } : {}), kills, errors, durationMs: Math.round(performance.now() - t0) };
}

export async function killAll(o: KillOptions, mutants: readonly Mutant[] = MUTANTS): Promise<MutantVerdict[]> {
  const out: MutantVerdict[] = [];
  for (const m of mutants) out.push(await killMutant(m, o));
  return out;
}

type J = Json | undefined;

function field(v: J, k: string): J {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v[k] : undefined;
}

function hostShort(h: J): string {
  const f = (k: string) => String(field(h, k));
  const g = f('granule');
  return `PARange ${f('parange')}/${g}K${field(h, 'lpa2') === true ? '+LPA2' : ''}/PA${f('kernelPaBits')}/VA${f('vaBits')}/${f('mode')}`;
}

function regionShort(r: J): string {
  const flags = Number(field(r, 'flags'));
  return `#${String(field(r, 'slot'))}${flags ? `f${flags}` : ''} ${String(field(r, 'guestPhysAddr'))}+${String(field(r, 'memorySize'))}`;
}

/** A one-line form of a counterexample, by case type. */
export function shortCase(r: PropertyResult): string {
  const c: J = r.counterexample;
  const p = ALL_PROPERTIES.find((x) => x.family === r.family && x.name === r.name);
  const kind = p?.kind === 'conformance' ? p.caseKind : undefined;
  const host = hostShort(field(c, 'host'));
  switch (kind) {
    case 'ipa-limit':
      return host;
    case 'vm-create':
      return `${host}, type ${String(field(c, 'type'))}`;
    case 'memslot': {
      const ops = field(c, 'ops');
      return `${host}, IPA ${Number(BigInt(String(field(c, 'vmType'))))}, ops [${Array.isArray(ops) ? ops.map(regionShort).join('; ') : ''}]`;
    }
    case 'access': {
      const a = field(c, 'access');
      const slots = field(c, 'slots');
      const extra = [
        field(a, 'syndromeValid') === false ? 'ISV=0' : '',
        field(c, 'nisvToUser') === true ? 'NISV' : '',
        Array.isArray(slots) && slots.length ? `slots [${slots.map(regionShort).join('; ')}]` : '',
      ].filter((x) => x);
      return `${host}, IPA ${String(field(c, 'ipaBits'))}, ${String(field(c, 'state'))} ${String(field(a, 'kind'))}/${String(field(a, 'size'))} @${String(field(a, 'ipa'))}${extra.length ? `, ${extra.join(', ')}` : ''}`;
    }
    default: {
      // layout, mte and whatever comes: the host, then the other fields as compact JSON
      const rest = c !== null && typeof c === 'object' && !Array.isArray(c) ? Object.entries(c).filter(([k]) => k !== 'host') : [];
      const s = `${host}, ${rest.map(([k, v]) => `${k} ${JSON.stringify(v)}`).join(', ')}`;
      return s.length <= 160 ? s : `${s.slice(0, 159)}…`;
    }
  }
}

/** The first differing field, expected → actual. */
export function shortDiff(r: PropertyResult): string {
  const d = r.diff?.[0];
  if (!d) return '';
  const more = (r.diff?.length ?? 0) > 1 ? ` (+${(r.diff?.length ?? 1) - 1})` : '';
  return `${d.path}: ${JSON.stringify(d.expected)} → ${JSON.stringify(d.actual)}${more}`;
}
