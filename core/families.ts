// The one registry of families: each family, the case kinds its conformance properties generate,
// and each case kind's type and JSON schema. `Family`/`FAMILIES` (core/property.ts), `CaseKind` and
// the decoder (core/codec.ts) and the property list (properties/index.ts, typed by `Family`) are
// all read from here: a new family is an entry below, its case type in core/cases.ts and its
// properties in properties/.

import { GRANULES, KVM_MODES } from '../arch/host.ts';
import type { AccessCase, IpaLimitCase, LayoutCase, MemslotCase, MteCase, ReuseCase, VmCreateCase } from './cases.ts';
import { MTE_ACCESSES, MTE_CAP_PLANS } from './cases.ts';
import { BOOL, NULL, U64, arr, either, int, obj, oneOf, type Schema } from './schema.ts';
import { ACCESS_KINDS, ACCESS_SIZES, BACKING_KINDS, GUEST_STATES } from './target.ts';

/** Each case kind's type: what a conformance property generates and its counterexamples decode to. */
export interface CaseTypes {
  'ipa-limit': IpaLimitCase;
  'vm-create': VmCreateCase;
  memslot: MemslotCase;
  access: AccessCase;
  reuse: ReuseCase;
  layout: LayoutCase;
  mte: MteCase;
}

/** Which case type a conformance property generates (and its counterexamples are). */
export type CaseKind = keyof CaseTypes;
export type CaseOf<K extends CaseKind> = CaseTypes[K];

const HOST = obj({
  parange: int(0, 15),
  granule: oneOf(...GRANULES),
  lpa2: BOOL,
  kernelPaBits: oneOf(48, 52),
  vaBits: int(36, 52),
  mode: oneOf(...KVM_MODES),
});

const REGION = obj({
  slot: int(0, 0xffff_ffff),
  flags: int(0, 0xffff_ffff),
  guestPhysAddr: U64,
  memorySize: U64,
  userspaceAddr: either(U64, oneOf('auto'), `a "0x…" string or "auto"`),
});

const RANGE = obj({ base: U64, size: U64 });
const BOOT = obj({ banks: arr(RANGE, 16), kernel: RANGE, idmapOffset: U64, privateBytes: U64, tag: U64 });
const BACKING = obj({ kind: oneOf(...BACKING_KINDS), shared: BOOL });
const ACCESS = obj({
  host: HOST,
  ipaBits: int(1, 64),
  slots: arr(REGION, 16),
  state: oneOf(...GUEST_STATES),
  access: obj({
    kind: oneOf(...ACCESS_KINDS),
    size: oneOf(...ACCESS_SIZES),
    ipa: U64,
    data: U64,
    syndromeValid: BOOL,
  }),
  nisvToUser: BOOL,
});

/** Each case kind's JSON schema (core/codec.ts decodes with it). */
export const CASE_SCHEMAS: { readonly [K in CaseKind]: Schema<CaseOf<K>> } = {
  'ipa-limit': obj({ host: HOST }),
  'vm-create': obj({ host: HOST, type: U64 }),
  memslot: obj({ host: HOST, vmType: U64, ops: arr(REGION, 64) }),
  access: ACCESS,
  reuse: obj({ prior: arr(ACCESS, 4), probe: ACCESS }),
  layout: obj({ host: HOST, boot: either(BOOT, oneOf('own'), 'a boot object or "own"') }),
  mte: obj({
    host: HOST,
    hostMte: BOOL,
    mtePerm: BOOL,
    cap: oneOf(...MTE_CAP_PLANS),
    backing: BACKING,
    remap: either(BACKING, NULL, 'a backing object or null'),
    access: oneOf(...MTE_ACCESSES),
  }),
};

export const CASE_KINDS = Object.keys(CASE_SCHEMAS) as readonly CaseKind[];

/**
 * Whether the observations of two cases of a kind may be in flight at once on one target (the runner
 * then pipelines a property's cases, core/runner.ts): true when each case makes its own VMs and touches
 * nothing else, so no case can see another. The mte family maps VMM memory at fixed addresses.
 */
export const OVERLAPS: { readonly [K in CaseKind]: boolean } = {
  'ipa-limit': true,
  'vm-create': true,
  memslot: true,
  access: true,
  reuse: false, // its prior cases leave a VM behind for its probe: nothing else may take it meanwhile
  layout: false,
  mte: false,
};

/**
 * The families, in suite order, each with the case kinds of its conformance properties (a family
 * of design properties only, checked without a target, has none of its own).
 */
const REGISTRY = {
  'vm-create': { caseKinds: ['ipa-limit', 'vm-create'] },
  memslot: { caseKinds: ['memslot'] },
  encoding: { caseKinds: ['vm-create'] },
  abort: { caseKinds: ['access', 'reuse'] },
  layout: { caseKinds: ['layout'] },
  mte: { caseKinds: ['mte'] },
} as const satisfies Record<string, { readonly caseKinds: readonly CaseKind[] }>;

export type Family = keyof typeof REGISTRY;
export const FAMILIES = Object.keys(REGISTRY) as readonly Family[];

/** The case kinds a family's conformance properties may generate. */
export function caseKindsOf(f: Family): readonly CaseKind[] {
  return REGISTRY[f].caseKinds;
}
