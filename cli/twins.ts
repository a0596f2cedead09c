// The one table between the two vocabularies: each profile (oracles/profiles.ts, in the oracle's
// Rules) and the simulated kernel that must conform to it (adapters/simulator, in SimKnobs). The
// two name the same behaviours differently (ipaLimit 'lpa2' is ipaLimitClamp 'cap48-unless-lpa2',
// outOfRange 'mmio' is outOfRangeCheck 'none') and stay independent: neither imports the other, nor
// this file. Only the checks that put them side by side read it: the profile-vs-simulator tests
// (tests/kernels.test.ts and the seeds', layout, mte, edge and regression tests) and the CLI's
// `crosscheck` and `regress` (the simulated twin of a real kernel's release).

import { simulatedKernel } from '../adapters/simulator/kernels.ts';
import type { SimKnobs } from '../adapters/simulator/knobs.ts';
import type { Profile } from '../oracles/profiles.ts';

/**
 * Profiles that are not a release (the proposals from the seeds): the simulated kernel they were
 * posted against plus what they change, from the threads and docs/kernel/, not from the profiles.
 */
const PROPOSALS: Readonly<Record<string, Partial<SimKnobs>>> = {
  'seed-000-v1': { ...simulatedKernel([5, 12]), defaultIpaBelowLimit: 'cap' },
  'seed-004-v1': { ...simulatedKernel([5, 18]), outOfRangeCheck: 'asf-beyond-ipa' },
  // seed 001 v1: EL2 laid out in a low 2^48 window, TCR_EL2 programmed for the whole VA space
  'seed-001-v1': { ...simulatedKernel([5, 12]), hypLayout: 'low-window-48', hypVaBits: 'max-idmap-vabits' },
  // seed 003: a refused VMA mapped with the NoTagAccess attribute when the host has FEAT_MTE_PERM
  'seed-003-notagaccess': { ...simulatedKernel([6, 18]), mteNoTagAccess: 'memattr' },
};

/**
 * The knobs of the simulated kernel a profile describes: a proposal's own, else the simulated
 * kernel of the profile's version (and stable sublevel, for v<major>.<minor>.<sublevel>); undefined
 * for a profile with neither.
 */
export function twinKnobs(p: Pick<Profile, 'name' | 'version'>): Partial<SimKnobs> | undefined {
  const sublevel = /^v\d+\.\d+\.(\d+)$/.exec(p.name)?.[1];
  return PROPOSALS[p.name] ?? (p.version ? simulatedKernel(p.version, sublevel === undefined ? undefined : Number(sublevel)) : undefined);
}

/** The simulated twin of a real kernel's release ("6.1.176", "6.12.95+deb12-cloud-arm64"), or undefined if it names none. */
export function twinOfRelease(release: string): { readonly release: string; readonly knobs: Partial<SimKnobs> } | undefined {
  const v = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!v) return undefined;
  return { release: v[0], knobs: simulatedKernel([Number(v[1]), Number(v[2])], v[3] === undefined ? undefined : Number(v[3])) };
}
