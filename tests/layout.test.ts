// Seed 001: the 52-bit nVHE layout. The thread's own counterexample, the rules pinned
// on hand-made boots, the boot-log reading of real kernels, and the simulator's knobs
// reproducing each older kernel (oracle and simulator are written apart).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import type { SimKnobs } from '../adapters/simulator/knobs.ts';
import { bootLogFacts, CAP_LINE, observeLayout } from '../properties/observe/layout.ts';
import { decodeCase } from '../core/codec.ts';
import type { LayoutCase } from '../core/cases.ts';
import { toJson } from '../core/json.ts';
import { runProperty } from '../core/runner.ts';
import type { BootConfig, HostConfig, PhysRange } from '../core/target.ts';
import { bootLog, layout } from '../oracles/layout.ts';
import { getProfile, type Profile } from '../oracles/profiles.ts';
import { twinKnobs } from '../cli/twins.ts';
import { el2MappableProperty, layoutProperties } from '../properties/layout.ts';
import { bootArb } from '../properties/arbitraries/boot.ts';
import { layoutHost } from '../properties/arbitraries/layoutHost.ts';

const P = (n: string): Profile => getProfile(n) as Profile;
/** The knobs of the simulated kernel a profile describes (cli/twins.ts). */
const twin = (n: string): Partial<SimKnobs> => twinKnobs(P(n)) ?? {};
const SEED_LO = (1n << 52n) - (1n << 48n);
const SEED_HI = (1n << 52n) - (1n << 47n);
const GiB = 1n << 30n;

const host = (mode: HostConfig['mode'], vaBits: 48 | 52 = 52): HostConfig => ({
  parange: 6,
  granule: 64,
  lpa2: false,
  kernelPaBits: 52,
  vaBits,
  mode,
});
const boot = (banks: PhysRange[], kernelBase: bigint): BootConfig => ({
  banks,
  kernel: { base: kernelBase, size: 32n << 20n },
  idmapOffset: 16n << 20n,
  privateBytes: 1n << 20n,
  tag: 0x5a5a_5a5a_5a5a_5a5an,
});

// Marc's system: a bank at the bottom, another one in [2^52 - 2^48, 2^52 - 2^47), the kernel low
const marc: LayoutCase = {
  host: host('nvhe'),
  boot: boot(
    [
      { base: 0x8000_0000n, size: GiB },
      { base: SEED_LO + 4n * GiB, size: GiB },
    ],
    0x8000_0000n,
  ),
};

describe('seed 001 v1: memory in [2^52 - 2^48, 2^52 - 2^47) has no EL2 alias', () => {
  it("the oracle says so for the thread's own system, and mainline drops that memory instead", () => {
    const v1 = layout(marc, P('seed-001-v1'));
    expect(v1.linearCap51).toBe(false);
    expect(v1.el2).toMatchObject({ kind: 'hyp', init: 'ok', unmappable: [{ base: SEED_LO + 4n * GiB, size: GiB }] });
    const now = layout(marc, P('mainline'));
    expect(now.linearCap51).toBe(true);
    expect(now.dropped).toEqual([{ base: SEED_LO + 4n * GiB, size: GiB }]);
    expect(now.el2).toMatchObject({ kind: 'hyp', init: 'ok', unmappable: [], idmapInLinear: false, privateInLinear: false });
  });

  it("run against the mainline simulator, the v1 profile fails with the seed's range as the shrunk counterexample", async () => {
    const target = simulatorTarget();
    const info = await target.open();
    const r = await runProperty(
      el2MappableProperty as never,
      { target, info, profile: P('seed-001-v1') },
      { runs: 1000, seed: 1, strict: false },
    );
    expect(r.verdict).toBe('fail');
    expect(r.path).toMatch(/^[0-9:]+$/);
    const expected = (r.expected as { unmappable: { base: string; size: string }[] }).unmappable;
    expect(expected.length).toBeGreaterThan(0);
    for (const u of expected) {
      expect(BigInt(u.base)).toBeGreaterThanOrEqual(SEED_LO);
      expect(BigInt(u.base) + BigInt(u.size)).toBeLessThanOrEqual(SEED_HI);
    }
    expect((r.actual as { unmappable: unknown[] }).unmappable).toEqual([]);
    const c = decodeCase('layout', r.counterexample ?? null);
    expect(c.boot).not.toBe('own');
    if (c.boot !== 'own') expect(c.boot.banks.some((b) => b.base < SEED_HI && b.base + b.size > SEED_LO)).toBe(true);
  });
});

describe('the rules on hand-made boots', () => {
  const qemu = (mode: HostConfig['mode']): LayoutCase => ({ host: { ...host(mode), granule: 4, lpa2: true }, boot: 'own' });

  it('88053ec8cb1b: 52-bit VA caps the linear region in nVHE and protected mode, not in VHE (6.12 on qemu:max)', () => {
    for (const m of ['nvhe', 'protected'] as const) expect(bootLog(qemu(m), P('v6.12'))).toEqual({ kvm: m, linearCap51: true });
    expect(bootLog(qemu('vhe'), P('v6.12'))).toEqual({ kvm: 'vhe', linearCap51: false });
    expect(bootLog({ ...qemu('nvhe'), host: { ...qemu('nvhe').host, lpa2: false } }, P('v6.12')).linearCap51).toBe(false); // no LPA2: 48 bits
    expect(bootLog(qemu('nvhe'), P('v5.12')).linearCap51).toBe(false);
  });

  it('579d7ebe90a3: before v6.2 nVHE on a 52-bit VA kernel below 2^48 cannot map its own code (48-bit ID map, 7ba8f2b2d652)', () => {
    expect(layout(qemu('nvhe'), P('v6.1')).el2).toMatchObject({ kind: 'hyp', init: 'hyp-va-range', hypVaBits: 48 });
    expect(layout(qemu('nvhe'), P('v6.2')).el2).toMatchObject({ kind: 'hyp', init: 'ok', hypVaBits: 52 });
    expect(layout(qemu('nvhe'), P('v5.11')).el2).toMatchObject({ kind: 'hyp', init: 'ok', hypVaBits: 52 }); // a 52-bit ID map
  });

  it('f4693c2716b3 (v5.11): DRAM spanning 2^51 leaves no top bit, and an ID map inside the alias stops KVM', () => {
    const wide: LayoutCase = {
      host: host('nvhe'),
      boot: boot(
        [
          { base: 0n, size: GiB },
          { base: 1n << 51n, size: GiB },
        ],
        0x20_0000n,
      ),
    };
    expect(layout(wide, P('v5.10')).dropped).toEqual([{ base: 1n << 51n, size: GiB }]);
    expect(layout(wide, P('v5.11')).el2).toMatchObject({ init: 'idmap-intersects-hyp-va', idmapInLinear: true });
    expect(layout(wide, P('mainline')).el2).toMatchObject({ init: 'ok' });
  });

  it('a kernel above the linear window keeps itself (up to its end): the window slides up and low memory is dropped', () => {
    const high: LayoutCase = {
      host: host('nvhe'),
      boot: boot(
        [
          { base: 0n, size: GiB },
          { base: 3n << 50n, size: GiB },
        ],
        3n << 50n,
      ),
    };
    const o = layout(high, P('mainline'));
    expect(o.kept).toEqual([{ base: 3n << 50n, size: 32n << 20n }]);
    expect(o.dropped).toEqual([
      { base: 0n, size: GiB },
      { base: (3n << 50n) + (32n << 20n), size: GiB - (32n << 20n) },
    ]);
  });

  it('layout cases round-trip through JSON', () => {
    for (const c of [marc, qemu('vhe')]) expect(decodeCase('layout', toJson(c))).toEqual(c);
  });
});

describe('the boot log of a real kernel', () => {
  // lines the probe returned on qemu:max,nvhe@6.12 and qemu:max@6.12 (6.12.95)
  const nvhe = [
    CAP_LINE,
    'Kernel command line: console=ttyAMA0 panic=-1 s2c.tty=hvc0 kvm-arm.mode=nvhe',
    'CPU features: detected: 52-bit Virtual Addressing for KVM (LPA2)',
    'kvm [1]: IPA Size Limit: 52 bits',
    'kvm [1]: Hyp nVHE mode initialized successfully',
  ];
  it('reads the mode and the cap decision', () => {
    expect(bootLogFacts(nvhe)).toEqual({ kvm: 'nvhe', linearCap51: true });
    expect(bootLogFacts(['kvm [1]: VHE mode initialized successfully'])).toEqual({ kvm: 'vhe', linearCap51: false });
    expect(bootLogFacts([CAP_LINE, 'kvm [1]: Protected hVHE mode initialized successfully'])).toEqual({
      kvm: 'protected',
      linearCap51: true,
    });
    expect(bootLogFacts(['kvm [1]: Hyp mode initialized successfully'])).toEqual({ kvm: 'nvhe', linearCap51: false }); // 6.1
    expect(bootLogFacts(['kvm [1]: error initializing Hyp mode: -34'])).toEqual({ kvm: 'failed', linearCap51: false });
  });
  it('the simulator writes the same lines', async () => {
    const h = await simulatorTarget().host({ parange: 6, granule: 4, lpa2: true, kernelPaBits: 52, vaBits: 52, mode: 'nvhe' });
    const r = await h.hypLayout?.('own');
    expect(bootLogFacts(r?.kmsg ?? [])).toEqual({ kvm: 'nvhe', linearCap51: true });
  });
});

describe("the simulator's knobs reproduce each older kernel the oracle describes", () => {
  const OLDER = ['v5.10', 'v5.11', 'v5.12', 'v6.1', 'seed-001-v1'];
  it.each(OLDER)('%s', async (name) => {
    const target = simulatorTarget({ knobs: twin(name) });
    const info = await target.open();
    for (const p of layoutProperties) {
      const r = await runProperty(p as never, { target, info, profile: P(name) }, { runs: 300, seed: 11, strict: false });
      expect(r.verdict, JSON.stringify(r.diff)).toBe('pass');
    }
  });
  it('and the outcomes they reach are all there is to reach', () => {
    const seen = new Set<string>();
    for (const n of OLDER) {
      for (const c of fc.sample(fc.record({ host: layoutHost, boot: bootArb }), { numRuns: 500, seed: 2 })) {
        const e = layout(c, P(n)).el2;
        if (e.kind === 'hyp') seen.add(e.init + (e.unmappable.length > 0 ? '+unmappable' : ''));
      }
    }
    for (const k of ['ok', 'ok+unmappable', 'idmap-intersects-hyp-va', 'hyp-va-range+unmappable']) expect(seen).toContain(k);
  });
});

// Edges the generated boots reach rarely (found by mutation testing, docs/mutation.md): both sides on hand-made boots.
describe('layout: edges, oracle and simulator alike', () => {
  async function both(c: LayoutCase, p: Profile = P('mainline'), knobs: Partial<SimKnobs> = {}) {
    const expected = layout(c, p);
    const target = simulatorTarget({ knobs });
    await target.open();
    expect(await observeLayout(c, target)).toEqual(expected);
    return expected;
  }
  const MiB = 1n << 20n;
  const at = (banks: PhysRange[], kernelBase: bigint, vaBits: 48 | 52, mode: HostConfig['mode'] = 'nvhe'): LayoutCase => ({
    host: { parange: 6, granule: 4, lpa2: true, kernelPaBits: 52, vaBits, mode },
    boot: { banks, kernel: { base: kernelBase, size: 32n * MiB }, idmapOffset: 16n * MiB, privateBytes: MiB, tag: 0n },
  });

  it('a kernel above the 2^47 linear window slides memstart up, rounded up to ARM64_MEMSTART_ALIGN, and drops what is below', async () => {
    const high = { base: (1n << 47n) + 2n * MiB, size: 64n * MiB };
    for (const mode of ['vhe', 'nvhe'] as const) {
      const o = await both(at([{ base: 0n, size: 1n << 47n }, high], high.base, 48, mode));
      // above the window only what the kernel needs stays: end = 2^47 + 34 MiB, the kernel's end;
      // memstart = round_up(end - 2^47, 1 GiB) = 1 GiB
      expect(o.kept).toEqual([
        { base: GiB, size: (1n << 47n) - GiB },
        { base: high.base, size: 32n * MiB },
      ]);
      expect(o.dropped).toEqual([
        { base: 0n, size: GiB },
        { base: high.base + 32n * MiB, size: 32n * MiB },
      ]);
    }
  });

  it('banks in any order, adjacent or empty, are the same DRAM', async () => {
    const a = { base: 0x4000_0000n, size: GiB };
    const b = { base: 0x8000_0000n, size: GiB }; // adjacent to a
    const c = { base: 0x80_0000_0000n, size: GiB };
    const sorted = await both(at([a, b, c], c.base, 52));
    for (const banks of [
      [c, b, a],
      [b, c, a],
      [a, { base: 0x1_0000_0000n, size: 0n }, b, c],
    ])
      expect(await both(at(banks, c.base, 52))).toEqual(sorted);
    expect(sorted.kept).toEqual([{ base: a.base, size: 2n * GiB }, c]);
  });

  // seed 001 v1 on the 5.12 kernel it was posted against
  const V1_KNOBS = twin('seed-001-v1');
  it('seed 001 v1: a private VA range larger than the ID map address cannot be allocated', async () => {
    const c = at([{ base: 0n, size: GiB }], 0n, 52);
    const big: LayoutCase = { ...c, boot: { ...(c.boot as BootConfig), privateBytes: 32n * MiB } };
    const o = await both(big, P('seed-001-v1'), V1_KNOBS);
    expect(o.el2).toMatchObject({ kind: 'hyp', init: 'private-va-exhausted' });
    const ok = await both(c, P('seed-001-v1'), V1_KNOBS);
    expect(ok.el2).toMatchObject({ kind: 'hyp', init: 'ok' });
  });
});
