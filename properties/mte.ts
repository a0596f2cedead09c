// mte (seed 003): MTE VMs and the memory behind their memslots, per backing kind; and the
// objections raised against the NoTagAccess proposal, checked against mainline and it.

import fc from 'fast-check';
import { observeMte } from './observe/mte.ts';
import type { MteCase, MteOutcome } from '../core/cases.ts';
import { BACKING_KINDS, type BackingKind } from '../core/target.ts';
import { sameOutcome, diffOutcomes } from '../core/compare.ts';
import { conformance, type ConformanceProperty, type DesignProperty } from '../core/property.ts';
import type { Capability } from '../core/target.ts';
import { MEM_TYPES, mte, stage2DenyTags, vmmNextStep, type MemType } from '../oracles/mte.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { anyMteCase, backingCapability, mteCaseArb } from './arbitraries/mteCase.ts';

const DESCRIPTIONS: Record<BackingKind, string> = {
  anon: 'anonymous memory, private or shared',
  memfd: 'a memfd (shmem), private or shared',
  tmpfs: 'a file on tmpfs (shmem), private or shared',
  ramfs: 'a file on ramfs (no VM_MTE_ALLOWED), private or shared',
  hugetlb: 'a hugetlbfs file (memfd MFD_HUGETLB), private or shared',
  pfnmap: '/dev/mem over MMIO (VM_PFNMAP, Device), shared',
};

function backingProperty(kind: BackingKind): ConformanceProperty<MteCase, MteOutcome, Profile> {
  const cap = backingCapability(kind);
  const needs: Capability[] = cap ? ['mte', cap] : ['mte'];
  return conformance('mte', {
    family: 'mte',
    name: kind,
    description: `memslot over ${DESCRIPTIONS[kind]} in VMs with and without KVM_CAP_ARM_MTE (enabled before or after the vCPU): the cap's result, the memslot's errno, and KVM_RUN on an access after the VMM may have replaced the mapping`,
    needs,
    arbitrary: (g) => mteCaseArb(g, [kind]),
    expect: (c, o) => mte(c, o.profile),
    observe: observeMte,
    hostOf: (c) => c.host,
  });
}

export const mteBackingProperties = BACKING_KINDS.map(backingProperty);

// --- seed 003: the reviewer's objections, as requirements on a design -------------------

function profile(name: string): Profile {
  const p = getProfile(name);
  if (!p) throw new Error(`no profile ${name}`);
  return p;
}

interface Requirement<C> {
  readonly name: string;
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<C>;
  check(p: Profile, c: C): string | null;
}

const orthogonal: Requirement<MemType> = {
  name: 'notag-orthogonal',
  description:
    'NoTagAccess is a stage-2 permission orthogonal to the memory type: a slot of any type (Normal, Normal-NC, Device) mapped without tag access keeps its type',
  arbitrary: fc.constantFrom(...MEM_TYPES),
  check: (p, t) => {
    const a = stage2DenyTags(t, p);
    if (a === 'not-used') return null;
    if (a === 'EINVAL') return `a ${t} mapping cannot deny tag access`;
    if (a.type !== t || a.tags !== 'denied') return `${t} with NoTagAccess is mapped ${a.type}, tag access ${a.tags}`;
    return null;
  },
};

const hostInvisible: Requirement<MteCase> = {
  name: 'host-invisible',
  description:
    'what userspace observes does not depend on a host feature it cannot see: the same VMM sequence on hosts with and without FEAT_MTE_PERM (a migrated VM) gets the same results',
  arbitrary: anyMteCase,
  check: (p, c) => {
    const without = mte({ ...c, mtePerm: false }, p);
    const withPerm = mte({ ...c, mtePerm: true }, p);
    if (sameOutcome(without, withPerm)) return null;
    const d = diffOutcomes(without, withPerm)[0];
    return `without FEAT_MTE_PERM ${d ? `${d.path} is ${JSON.stringify(d.expected)}, with it ${JSON.stringify(d.actual)}` : 'the outcome differs'}`;
  },
};

const abiFirst: Requirement<MteCase> = {
  name: 'abi-first',
  description:
    'the userspace sequence is defined before the implementation: every result a VMM can get is documented with what the VMM does next',
  // the results an MTE VM's tag accesses get, on hosts with every feature
  arbitrary: anyMteCase.map((c): MteCase => ({ ...c, hostMte: true, mtePerm: true, cap: 'before-vcpu', access: 'tag-load' })),
  check: (p, c) => {
    const o = mte(c, p);
    if (vmmNextStep(o) !== null) return null;
    return `KVM_RUN ends in ${o.run?.kind ?? '?'} (KVM_EXIT_ARM_NOTAG_ACCESS): no documented ABI, no defined VMM sequence to provide tagged memory`;
  },
};

const DESIGNS = ['mainline', 'seed-003-notagaccess'] as const;
/** The thread's verdict: the proposal breaks every requirement; mainline keeps them. */
const VIOLATED = new Set(['seed-003-notagaccess']);

function designs<C>(r: Requirement<C>): DesignProperty<C>[] {
  return DESIGNS.map((d) => ({
    kind: 'design',
    family: 'mte',
    name: `${d}/${r.name}`,
    description: `${profile(d).source}: ${r.description}`,
    violated: VIOLATED.has(d),
    arbitrary: () => r.arbitrary,
    check: (c: C) => r.check(profile(d), c),
  }));
}

export const mteDesignProperties = [...designs(orthogonal), ...designs(hostInvisible), ...designs(abiFirst)];

export const mteProperties = [...mteBackingProperties, ...mteDesignProperties];
