// The seed threads' own examples, pinned by hand, on the oracle and on the
// simulator (with the knobs of the kernel each profile describes).

import { describe, expect, it } from 'vitest';
import { observeMemslots } from '../properties/observe/memslot.ts';
import { observeVmCreate } from '../properties/observe/vmCreate.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { twinKnobs } from '../cli/twins.ts';
import type { HostConfig, MemoryRegion } from '../core/target.ts';
import { memslots } from '../oracles/memslot.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { vmCreate } from '../oracles/vmCreate.ts';
import { ipaLimit } from '../oracles/ipaLimit.ts';

const profile = (n: string) => getProfile(n) as Profile;
/** An Apple M1 as in seed 000: 36-bit PARange, 16K pages. */
const M1: HostConfig = { parange: 1, granule: 16, lpa2: false, kernelPaBits: 48, vaBits: 47, mode: 'nvhe' };
/** A 44-bit nVHE host like QEMU's cortex-a57. */
const A57: HostConfig = { parange: 4, granule: 4, lpa2: false, kernelPaBits: 48, vaBits: 48, mode: 'nvhe' };

/** The simulated kernels of the profiles (cli/twins.ts). */
const PRE_512_KNOBS = twinKnobs(profile('pre-5.12'));

describe('seed 000: the default IPA size on a 36-bit host', () => {
  it('v5.12 and later reject type 0 with EINVAL (7d717558dd5e)', async () => {
    expect(vmCreate({ host: M1, type: 0n }, profile('v5.12'))).toEqual({ result: 'errno', errno: 'EINVAL' });
    expect(vmCreate({ host: M1, type: 0n }, profile('mainline'))).toEqual({ result: 'errno', errno: 'EINVAL' });
    expect(await observeVmCreate({ host: M1, type: 0n }, simulatorTarget())).toEqual({ result: 'errno', errno: 'EINVAL' });
  });
  it('before 5.12 the VM is created with 40 bits and its guest hangs on its first access', async () => {
    const expected = { result: 'created', ipaBits: 40, firstAccess: 'hang' };
    expect(vmCreate({ host: M1, type: 0n }, profile('pre-5.12'))).toEqual(expected);
    expect(await observeVmCreate({ host: M1, type: 0n }, simulatorTarget({ knobs: PRE_512_KNOBS }))).toEqual(expected);
  });
  it('the v1 patch caps the default to the host size', async () => {
    const expected = { result: 'created', ipaBits: 36, firstAccess: 'completed' };
    expect(vmCreate({ host: M1, type: 0n }, profile('seed-000-v1'))).toEqual(expected);
    expect(await observeVmCreate({ host: M1, type: 0n }, simulatorTarget({ knobs: twinKnobs(profile('seed-000-v1')) }))).toEqual(expected);
  });
  it('the host limit is 36 bits, with or without the later caps', () => {
    for (const p of ['v4.20', 'pre-5.12', 'v5.15', 'mainline']) expect(ipaLimit(M1, profile(p))).toBe(36);
  });
});

describe('seed 000: memslots at the edge of the IPA space', () => {
  const page = 0x1000n;
  const top = 1n << 44n;
  const slot = (gpa: bigint, id = 0): MemoryRegion => ({
    slot: id,
    flags: 0,
    guestPhysAddr: gpa,
    memorySize: page,
    userspaceAddr: 0x10_0000_0000n + BigInt(id) * page,
  });
  it('a slot ending exactly at 2^IPA is accepted since 262b003d059c, refused before', async () => {
    const c = { host: A57, vmType: 44n, ops: [slot(top - page)] };
    expect(memslots(c, profile('mainline'))).toEqual({ vm: 'ok', results: ['ok'] });
    expect(memslots(c, profile('pre-5.12'))).toEqual({ vm: 'ok', results: ['EFAULT'] });
    expect(await observeMemslots(c, simulatorTarget())).toEqual({ vm: 'ok', results: ['ok'] });
    expect(await observeMemslots(c, simulatorTarget({ knobs: PRE_512_KNOBS }))).toEqual({ vm: 'ok', results: ['EFAULT'] });
  });
  it('a slot beyond 2^IPA gets EFAULT, but one that also overlaps another gets EEXIST', async () => {
    const c = {
      host: A57,
      vmType: 44n,
      ops: [slot(top - page, 0), slot(top, 1), { ...slot(top - page, 2), memorySize: 2n * page }],
    };
    const expected = { vm: 'ok', results: ['ok', 'EFAULT', 'EEXIST'] };
    expect(memslots(c, profile('mainline'))).toEqual(expected);
    expect(await observeMemslots(c, simulatorTarget())).toEqual(expected);
  });
  it('move, flags-only, no-op and delete follow the kernel rules', async () => {
    const s = slot(0x100000n, 3);
    const c = {
      host: A57,
      vmType: 44n,
      ops: [
        s,
        { ...s, guestPhysAddr: 0x200000n }, // move
        { ...s, guestPhysAddr: 0x200000n, flags: 1 }, // flags only (dirty logging)
        { ...s, guestPhysAddr: 0x200000n, flags: 1 }, // no change
        { ...s, guestPhysAddr: 0x200000n, flags: 3 }, // READONLY cannot change
        { ...s, memorySize: 2n * page }, // size cannot change
        { ...s, guestPhysAddr: top }, // move beyond the IPA space
        { ...s, memorySize: 0n }, // delete
        { ...s, memorySize: 0n }, // delete again
      ],
    };
    const expected = { vm: 'ok', results: ['ok', 'ok', 'ok', 'ok', 'EINVAL', 'EINVAL', 'EFAULT', 'ok', 'EINVAL'] };
    expect(memslots(c, profile('mainline'))).toEqual(expected);
    expect(await observeMemslots(c, simulatorTarget())).toEqual(expected);
  });
});
