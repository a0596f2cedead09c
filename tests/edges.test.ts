// Edges the generators reach rarely or never, pinned by hand on the oracle and
// the simulator alike (found by mutation testing, docs/mutation.md).

import { describe, expect, it } from 'vitest';
import { observeAccess } from '../properties/observe/access.ts';
import { observeMemslots } from '../properties/observe/memslot.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import type { AccessCase } from '../core/cases.ts';
import type { HostConfig, MemoryRegion } from '../core/target.ts';
import { KVM_CAP_ARM_EL1_32BIT, KVM_CAP_ARM_NISV_TO_USER, KVM_CAP_ARM_VM_IPA_SIZE, KVM_CAP_NR_MEMSLOTS } from '../arch/kvm.ts';
import { accessOutcome } from '../oracles/abort.ts';
import { createVm2, halfDiff, landed, ps3Flag } from '../oracles/encoding.ts';
import { memslots } from '../oracles/memslot.ts';
import { getProfile, profileForRelease, type Profile } from '../oracles/profiles.ts';
import { twinKnobs } from '../cli/twins.ts';

const mainline = getProfile('mainline') as Profile;
const H: HostConfig = { parange: 5, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'vhe' };
const slot = (gpa: bigint, size = 0x1000n, uaddr: bigint | 'auto' = 'auto', id = 0, flags = 0): MemoryRegion => ({
  slot: id,
  flags,
  guestPhysAddr: gpa,
  memorySize: size,
  userspaceAddr: uaddr,
});

async function both(c: AccessCase, p: Profile = mainline, knobs = {}) {
  const expected = accessOutcome(c, p, { strict: false });
  expect(await observeAccess(c, simulatorTarget({ knobs }))).toEqual(expected);
  return expected;
}

describe('abort: edges', () => {
  const base: AccessCase = {
    host: H,
    ipaBits: 40,
    slots: [slot(0x400000n, 0x2000n)],
    state: 'el1h',
    access: { kind: 'load', size: 4, ipa: 0x400000n, data: 0n, syndromeValid: true },
    nisvToUser: false,
  };
  it('the first and the last byte of a slot are in it; the byte after is not', async () => {
    expect(await both(base)).toEqual({ vm: 'ok', outcome: { kind: 'completed' } });
    expect(await both({ ...base, access: { ...base.access, ipa: 0x401ffcn } })).toEqual({ vm: 'ok', outcome: { kind: 'completed' } });
    expect((await both({ ...base, access: { ...base.access, ipa: 0x402000n } })).outcome?.kind).toBe('mmio');
    expect((await both({ ...base, access: { ...base.access, ipa: 0x3ffffcn } })).outcome?.kind).toBe('mmio');
  });
  it('the harness code page is always there', async () => {
    expect(await both({ ...base, access: { ...base.access, ipa: 0x1000n } })).toEqual({ vm: 'ok', outcome: { kind: 'completed' } });
  });
  it('an IPA size the host refuses: no VM, no access', async () => {
    expect(await both({ ...base, ipaBits: 49 })).toEqual({ vm: 'EINVAL' });
    expect(await both({ ...base, ipaBits: 31 })).toEqual({ vm: 'EINVAL' });
  });
  it('a VM the hardware cannot walk (v5.10: 52 bits on 4K without LPA2) hangs on its first access', async () => {
    const host: HostConfig = { ...H, parange: 6 };
    const v510 = getProfile('v5.10') as Profile;
    const knobs = twinKnobs(v510);
    expect(await both({ ...base, host, ipaBits: 52 }, v510, knobs)).toEqual({ vm: 'ok', outcome: { kind: 'hang' } });
    expect(await both({ ...base, host, ipaBits: 48 }, v510, knobs)).toEqual({ vm: 'ok', outcome: { kind: 'completed' } });
  });
  it('before 262b003d059c a slot ending at 2^N is refused, so the access misses it', async () => {
    const c = { ...base, slots: [slot((1n << 40n) - 0x1000n)], access: { ...base.access, ipa: (1n << 40n) - 0x1000n } };
    const pre = getProfile('pre-5.12') as Profile;
    const knobs = twinKnobs(pre);
    expect((await both(c, pre, knobs)).outcome?.kind).toBe('mmio');
    expect((await both(c)).outcome?.kind).toBe('completed');
  });
  it('NISV beyond the IPA size before 5.18: the fault is reported at level 0, whatever the start level (Arm ARM IPAIsOutOfRange; seen on 5.10.223)', async () => {
    const pre = getProfile('pre-5.18') as Profile;
    const knobs = twinKnobs(pre);
    const c = { ...base, nisvToUser: true, access: { ...base.access, ipa: (1n << 40n) + 0x10n, syndromeValid: false } };
    // 4K, 40 bits: the walk would start at level 1, but the IPA is out of range before it starts → level 0 (FSC 0x04)
    expect(await both(c, pre, knobs)).toEqual({ vm: 'ok', outcome: { kind: 'nisv', esrIss: 0x04n, faultIpa: (1n << 40n) + 0x10n } });
  });
});

describe('the simulated host: capabilities', () => {
  it('KVM_CHECK_EXTENSION and KVM_ENABLE_CAP as the kernel answers them', async () => {
    const t = simulatorTarget();
    expect(await t.open()).toEqual({ kind: 'sim', spec: 'sim', host: 'any' });
    const h = await t.host(H);
    expect(await h.checkExtension(KVM_CAP_ARM_VM_IPA_SIZE)).toBe(48);
    expect(await h.checkExtension(KVM_CAP_ARM_NISV_TO_USER)).toBe(1);
    expect(await h.checkExtension(KVM_CAP_NR_MEMSLOTS)).toBe(32767);
    expect(await h.checkExtension(KVM_CAP_ARM_EL1_32BIT)).toBe(0);
    expect(await (await simulatorTarget({ knobs: { userMemSlots: 512 } }).host(H)).checkExtension(KVM_CAP_NR_MEMSLOTS)).toBe(512);
    const vm = await h.createVm(40n);
    if ('errno' in vm) throw new Error('no VM');
    expect(await vm.enableCap(KVM_CAP_ARM_NISV_TO_USER, [])).toEqual({ errno: null });
    expect(await vm.enableCap(KVM_CAP_ARM_EL1_32BIT, [])).toEqual({ errno: 'EINVAL' });
    await vm.destroy();
  });
});

describe('memslot: edges', () => {
  it('a VM that cannot be created has no slot results', async () => {
    const c = { host: H, vmType: 0x100n, ops: [slot(0x100000n, 0x1000n, 0x10_0000_0000n)] };
    expect(memslots(c, mainline)).toEqual({ vm: 'EINVAL', results: [] });
    expect(await observeMemslots(c, simulatorTarget())).toEqual({ vm: 'EINVAL', results: [] });
  });
  it('access_ok: a user range may end exactly at TASK_SIZE, not one page beyond', async () => {
    const top = 1n << 48n;
    const c = {
      host: H,
      vmType: 40n,
      ops: [slot(0x100000n, 0x1000n, top - 0x1000n, 0), slot(0x200000n, 0x2000n, top - 0x1000n, 1)],
    };
    const expected = { vm: 'ok', results: ['ok', 'EINVAL'] };
    expect(memslots(c, mainline)).toEqual(expected);
    expect(await observeMemslots(c, simulatorTarget())).toEqual(expected);
  });
});

describe('encoding: every design at the edges of its word', () => {
  it('landed: 1..255 bits in [7:0], 0 = 40, nothing above', () => {
    expect(landed.encode({ bits: 0 })).toBeUndefined();
    expect(landed.encode({ bits: 1 })).toBe(1n);
    expect(landed.encode({ bits: 255 })).toBe(255n);
    expect(landed.encode({ bits: 256 })).toBeUndefined();
    expect(landed.decode(0n)).toBe(40);
    expect(landed.decode(0x100n)).toBeUndefined();
    expect(landed.decode(0xffn)).toBe(255);
  });
  it('ps3-flag: PS values with bit 3 set; 0 alone is the default', () => {
    expect(ps3Flag.encode('default')).toBe(0n);
    expect(ps3Flag.encode({ bits: 32 })).toBe(8n);
    expect(ps3Flag.encode({ bits: 52 })).toBe(14n);
    expect(ps3Flag.encode({ bits: 45 })).toBeUndefined();
    expect(ps3Flag.decode(0n)).toBe(40);
    expect(ps3Flag.decode(7n)).toBeUndefined();
    expect(ps3Flag.decode(8n)).toBe(32);
    expect(ps3Flag.decode(0x18n)).toBeUndefined();
  });
  it('half-diff: 40 + 2 * sign_extend(bits[3:0]), 24..54 even', () => {
    expect(halfDiff.encode({ bits: 24 })).toBe(8n);
    expect(halfDiff.encode({ bits: 22 })).toBeUndefined();
    expect(halfDiff.encode({ bits: 54 })).toBe(7n);
    expect(halfDiff.encode({ bits: 56 })).toBeUndefined();
    expect(halfDiff.encode({ bits: 41 })).toBeUndefined();
    expect(halfDiff.encode('default')).toBe(0n);
    expect(halfDiff.decode(8n)).toBe(24);
    expect(halfDiff.decode(7n)).toBe(54);
    expect(halfDiff.decode(0x10n)).toBeUndefined();
  });
  it('create-vm2: the IPA size only with the capability bit, never 0 bits', () => {
    expect(createVm2.encode({ bits: 40 })).toBe(0x228n);
    expect(createVm2.encode({ bits: 0 })).toBeUndefined();
    expect(createVm2.encode({ bits: 255 })).toBe(0x2ffn);
    expect(createVm2.encode({ bits: 256 })).toBeUndefined();
    expect(createVm2.decode(0n)).toBe(40);
    expect(createVm2.decode(5n)).toBeUndefined();
    expect(createVm2.decode(0x200n)).toBeUndefined();
    expect(createVm2.decode(0x428n)).toBeUndefined();
    expect(createVm2.decode(0x22an)).toBe(42);
  });
});

describe('--profile auto: every way a release string can go', () => {
  it('exact named versions, versions between them, newer than mainline, older than v4.20, garbage', () => {
    expect(profileForRelease('5.4.0-150-generic')).toMatchObject({ name: 'v5.4', source: 'kernel version' });
    expect(profileForRelease('5.10.0')?.name).toBe('v5.10');
    const v516 = profileForRelease('5.16.3');
    expect(v516?.name).toBe('v5.16');
    expect(v516?.version).toEqual([5, 16]);
    expect({ ...v516, name: '', version: [], source: '' }).toEqual({ ...getProfile('v5.15'), name: '', version: [], source: '' });
    expect(profileForRelease('6.18.0')?.name).toBe('mainline');
    expect(profileForRelease('6.17.9')?.name).toBe('v6.17');
    expect(profileForRelease('10.0')?.name).toBe('mainline');
    expect(profileForRelease('4.19.300')).toBeUndefined();
    expect(profileForRelease('linux-6.1')).toBeUndefined();
    expect(profileForRelease('')).toBeUndefined();
  });
  it('never picks a named point or a proposal', () => {
    expect(profileForRelease('6.8.0')?.name).toBe('v6.8');
    expect(profileForRelease('5.11.7')?.name).toBe('v5.11');
    expect(profileForRelease('5.17.1')?.name).toBe('v5.17');
  });
});
