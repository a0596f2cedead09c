// `s2conform bench` (npm run bench): cases/s per family on the simulator, and
// on each real target given with --target: boot time, cases/s per family and
// the adapter's per-case time against the helper's batch mode.

import { targetFromSpec } from '../adapters/index.ts';
import { findTestHooks } from '../adapters/kvm/hooks.ts';
import { FAMILIES, propertyId, type Family } from '../core/property.ts';
import { runProperty } from '../core/runner.ts';
import type { Target, TargetInfo } from '../core/target.ts';
import { getProfile, profileForRelease, type Profile } from '../oracles/profiles.ts';
import { propertiesOf } from '../properties/index.ts';
import { deviationsFor, loadDeviations, type KnownDeviation } from '../core/deviations.ts';
import { fileURLToPath } from 'node:url';

const DEVIATIONS = fileURLToPath(new URL('../fixtures/deviations.json', import.meta.url));

export interface BenchArgs {
  readonly targets: string[];
  readonly runs: number;
  readonly seed: number;
}

type FloorLoop = 'fresh-vm' | 'reuse-mmio' | 'memslot';
const FLOOR_LOOPS: readonly FloorLoop[] = ['fresh-vm', 'reuse-mmio', 'memslot'];
const FLOOR_N: Readonly<Record<FloorLoop, number>> = { 'fresh-vm': 200, 'reuse-mmio': 2000, memslot: 1000 };
/**
 * The floor that bounds each family on a real target: a case that must have a fresh VM (vm-create,
 * memslot sequences) against the fresh-VM loop; an access case, which may run on a reused VM, against
 * the reuse loop.
 * layout has none: on a real target it reads the boot log once.
 */
const BOUND_BY: Partial<Record<Family, FloorLoop>> = {
  'vm-create': 'fresh-vm',
  memslot: 'fresh-vm',
  abort: 'reuse-mmio',
  encoding: 'fresh-vm',
  mte: 'fresh-vm',
}; // layout reads the boot log: no VM

export interface FamilyRate {
  readonly family: Family;
  readonly cases: number;
  readonly ms: number;
  /** VMs the cases got afresh and reused (targets that reuse VMs) */
  readonly vms?: { readonly fresh: number; readonly reused: number };
}

/** Run every conformance property of each family once at `runs` cases; cases/s = cases / time. */
export async function familyRates(target: Target, info: TargetInfo, profile: Profile, runs: number, seed: number): Promise<FamilyRate[]> {
  const out: FamilyRate[] = [];
  const known: KnownDeviation[] = loadDeviations(DEVIATIONS);
  for (const family of FAMILIES) {
    let cases = 0;
    let ms = 0;
    const vms = { fresh: 0, reused: 0 };
    for (const p of propertiesOf([family])) {
      // a property that observes each case twice against itself (abort/reuse-equivalence) is no family's rate
      if (p.kind !== 'conformance' || p.expectOn) continue;
      const r = await runProperty(
        p,
        { target, info, profile, deviations: deviationsFor(known, propertyId(p), info) },
        { runs, seed, strict: false },
      );
      if (r.verdict === 'skip') continue;
      cases += r.runs;
      ms += r.durationMs;
      vms.fresh += r.vms?.fresh ?? 0;
      vms.reused += r.vms?.reused ?? 0;
    }
    if (cases > 0) out.push({ family, cases, ms, ...(vms.reused > 0 ? { vms } : {}) });
  }
  return out;
}

function line(r: FamilyRate): string {
  const vms = r.vms ? `  (VMs: ${r.vms.fresh} fresh, ${r.vms.reused} reused)` : '';
  return `  ${r.family.padEnd(10)} ${String(r.cases).padStart(7)} cases  ${(r.cases / (r.ms / 1000)).toFixed(0).padStart(8)} cases/s${vms}`;
}

export async function benchCommand(a: BenchArgs): Promise<number> {
  for (const spec of ['sim', ...a.targets]) {
    const target = await targetFromSpec(spec);
    const info = await target.open();
    const profile =
      info.kind === 'sim'
        ? (getProfile('mainline') as Profile)
        : (profileForRelease(info.kernelRelease ?? '', info.kernelVersion) ?? (getProfile('mainline') as Profile));
    const runs = info.kind === 'sim' ? a.runs * 10 : a.runs;
    process.stdout.write(`${spec}${info.bootMs !== undefined ? `: boot ${info.bootMs} ms` : ''}\n`);
    try {
      const rates = await familyRates(target, info, profile, runs, a.seed);
      for (const r of rates) process.stdout.write(`${line(r)}\n`);
      const abort = rates.find((r) => r.family === 'abort');
      // a kvm target can run cases inside its helper with no TypeScript in the loop (its test hooks)
      const hooks = findTestHooks(target);
      if (hooks && abort) {
        const b = await hooks.batch(1000, BigInt(a.seed));
        const batchMs = b.ns / 1e6 / b.n;
        const adapterMs = abort.ms / abort.cases;
        process.stdout.write(
          `  batch mode ${b.n} access cases in the helper: ${(1000 / batchMs).toFixed(0)} cases/s; ` +
            `adapter per access case ${adapterMs.toFixed(2)} ms = ${(adapterMs / batchMs).toFixed(1)}x batch ` +
            `(batch mode: one VM, no memslot changes, no protocol)\n`,
        );
      }
      if (hooks) {
        // the floors, measured in this boot by the helper's bare loops (helper/floor.c): what no adapter beats
        const floors: Partial<Record<FloorLoop, number>> = {};
        for (const loop of FLOOR_LOOPS) {
          const w = await hooks.call({ op: 'floor', loop, n: FLOOR_N[loop] }, 120_000);
          const n = typeof w['n'] === 'number' ? w['n'] : 0;
          const ns = typeof w['ns'] === 'number' ? w['ns'] : 0;
          if (n > 0 && ns > 0) floors[loop] = n / (ns / 1e9);
        }
        process.stdout.write(`  floors: ${FLOOR_LOOPS.map((l) => `${l} ${floors[l]?.toFixed(0) ?? '?'}/s`).join(', ')}\n`);
        for (const r of rates) {
          const loop = BOUND_BY[r.family];
          const f = loop ? floors[loop] : undefined;
          if (!loop || !f) continue;
          const rate = r.cases / (r.ms / 1000);
          process.stdout.write(
            `  ${r.family.padEnd(10)} ${rate.toFixed(0).padStart(6)} cases/s = ${((100 * rate) / f).toFixed(1)}% of the ${loop} floor\n`,
          );
        }
      }
    } finally {
      await target.close();
    }
  }
  return 0;
}
