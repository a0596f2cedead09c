// An mte case: host features, how KVM_CAP_ARM_MTE is asked for, the slot's backing (of one
// kind, shared or private), what may replace it before the access, and the access. Shrinks
// towards no capability, private mappings, no remap and a load.

import fc from 'fast-check';
import { MTE_ACCESSES, type Backing, type MteCapPlan, type MteCase } from '../../core/cases.ts';
import { BACKING_KINDS, type BackingKind } from '../../core/target.ts';
import type { GenContext } from '../../core/property.ts';
import type { Capability } from '../../core/target.ts';
import { anyHost, hostArb } from './host.ts';

/** The target ability a backing kind needs (anonymous memory needs none). */
export function backingCapability(k: BackingKind): Capability | undefined {
  return k === 'anon' ? undefined : `backing-${k}`;
}

// MTE_CAP_PLANS (core/cases.ts) in the order they are drawn in, which fixes the cases a seed makes.
const CAP_PLANS: readonly MteCapPlan[] = ['none', 'before-vcpu', 'twice', 'after-vcpu', 'bad-flags'];

export function backingArb(kinds: readonly BackingKind[]): fc.Arbitrary<Backing> {
  return fc
    .record({ kind: fc.constantFrom(...kinds), shared: fc.boolean() })
    .map((b): Backing => (b.kind === 'pfnmap' ? { kind: b.kind, shared: true } : b));
}

interface MteArbOptions {
  /** the simulator: host features vary, tag accesses exist */
  readonly sim: boolean;
  readonly kinds: readonly BackingKind[];
  readonly remapKinds: readonly BackingKind[];
}

export function mteCaseWith(host: fc.Arbitrary<MteCase['host']>, o: MteArbOptions): fc.Arbitrary<MteCase> {
  return fc.record({
    host,
    hostMte: o.sim
      ? fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
      : fc.constant(true),
    mtePerm: o.sim ? fc.boolean() : fc.constant(false),
    cap: fc.oneof(
      { weight: 1, arbitrary: fc.constantFrom(...CAP_PLANS) },
      { weight: 3, arbitrary: fc.constant<MteCapPlan>('before-vcpu') },
    ),
    backing: backingArb(o.kinds),
    remap: fc.option(backingArb(o.remapKinds), { nil: null, freq: 3 }),
    access: o.sim ? fc.constantFrom(...MTE_ACCESSES) : fc.constantFrom<MteCase['access']>('load', 'store'),
  });
}

/** Cases for a target: only backing kinds it can make, remapped only to such kinds. */
export function mteCaseArb(g: GenContext, kinds: readonly BackingKind[]): fc.Arbitrary<MteCase> {
  const can = (k: BackingKind) => {
    const cap = backingCapability(k);
    return cap === undefined || g.info.cannot?.[cap] === undefined;
  };
  return mteCaseWith(hostArb(g), { sim: g.info.host === 'any', kinds, remapKinds: BACKING_KINDS.filter(can) });
}

/** Any case the simulator can run (design properties). */
export const anyMteCase: fc.Arbitrary<MteCase> = mteCaseWith(anyHost, { sim: true, kinds: BACKING_KINDS, remapKinds: BACKING_KINDS });
