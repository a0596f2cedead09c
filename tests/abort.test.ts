// Seed 004 pinned: exact ESR_EL1/FAR_EL1 values for each region and state.

import { describe, expect, it } from 'vitest';
import { observeAccess } from '../properties/observe/access.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import type { AccessCase } from '../core/cases.ts';
import type { Access, GuestState, HostConfig } from '../core/target.ts';
import { accessOutcome } from '../oracles/abort.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';

const MAX_61: HostConfig = { parange: 6, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'vhe' };
const mainline = getProfile('mainline') as Profile;

function access(kind: Access['kind'], ipa: bigint, syndromeValid = true): Access {
  return { kind, size: kind === 'ifetch' ? 4 : 8, ipa, data: 0x1122334455667788n, syndromeValid };
}

function kase(state: GuestState, a: Access, nisvToUser = false): AccessCase {
  return { host: MAX_61, ipaBits: 40, slots: [], state, access: a, nisvToUser };
}

async function both(c: AccessCase, strict = false) {
  const expected = accessOutcome(c, mainline, { strict });
  const actual = await observeAccess(c, simulatorTarget({ strict }));
  expect(actual).toEqual(expected);
  return expected.outcome;
}

describe('seed 004 on a 52-bit PARange host with a 48-bit limit, VM of 40 bits', () => {
  it('N <= ipa < L: external abort, FAR = IPA', async () => {
    expect(await both(kase('el1h', access('load', 1n << 40n)))).toEqual({
      kind: 'exception',
      vector: 0x200,
      esr: 0x96000010n,
      far: 1n << 40n,
    });
    expect(await both(kase('el0', access('store', (1n << 40n) + 0x18n)))).toEqual({
      kind: 'exception',
      vector: 0x400,
      esr: 0x92000010n,
      far: (1n << 40n) + 0x18n,
    });
    expect(await both(kase('el1t', access('ifetch', 1n << 44n)))).toEqual({
      kind: 'exception',
      vector: 0,
      esr: 0x86000010n,
      far: 1n << 44n,
    });
  });
  it('L <= ipa < P: address size fault at level 0', async () => {
    expect(await both(kase('el1h', access('load', 1n << 48n)))).toEqual({
      kind: 'exception',
      vector: 0x200,
      esr: 0x96000000n,
      far: 1n << 48n,
    });
    expect(await both(kase('el0', access('ifetch', 1n << 50n)))).toEqual({
      kind: 'exception',
      vector: 0x400,
      esr: 0x82000000n,
      far: 1n << 50n,
    });
  });
  it('--strict adds WnR on stores', async () => {
    expect(await both(kase('el1h', access('store', 1n << 40n)), true)).toEqual({
      kind: 'exception',
      vector: 0x200,
      esr: 0x96000050n,
      far: 1n << 40n,
    });
  });
  it('ipa >= P: the CPU faults at stage 1', async () => {
    expect(await both(kase('el1h', access('store', 1n << 52n)))).toEqual({
      kind: 'exception',
      vector: 0x200,
      esr: 0x96000040n,
      far: 1n << 52n,
    });
  });
  it('in range, no slot: MMIO exit with the exact fields; no syndrome: ENOSYS or KVM_EXIT_ARM_NISV', async () => {
    expect(await both(kase('el1h', access('store', 0x3000_0008n)))).toEqual({
      kind: 'mmio',
      physAddr: 0x3000_0008n,
      len: 8,
      isWrite: true,
      data: 0x1122334455667788n,
    });
    expect(await both(kase('el1h', access('load', 0x3000_0008n, false)))).toEqual({ kind: 'run-errno', errno: 'ENOSYS' });
    // 4K pages, 40-bit VM: the walk starts at level 1; 0x3000_0000 shares IPA 0's level-1 entry
    // (bits [39:30] are 0) and leaves its path at level 2: WnR | translation fault, level 2
    expect(await both(kase('el1h', access('store', 0x3000_0008n, false), true))).toEqual({
      kind: 'nisv',
      esrIss: 0x46n,
      faultIpa: 0x3000_0008n,
    });
  });
  it('before 5.18 the same access between N and L was an MMIO exit', () => {
    const c = kase('el1h', access('load', 1n << 40n));
    expect(accessOutcome(c, getProfile('pre-5.18') as Profile, { strict: false }).outcome).toEqual({
      kind: 'mmio',
      physAddr: 1n << 40n,
      len: 8,
      isWrite: false,
      data: 0n,
    });
  });
});
