// `s2conform crosscheck <summary.json> [--qemu OTHER]`: is a real target's failure the kernel's,
// the emulator's or the oracle's? Each failing counterexample is observed again
//   - on the same kernel and CPU under the other emulator (fixtures/emulators.json), and
//   - on the simulated kernel of the same release (adapters/simulator/kernels.ts),
// and classified:
//   differs-between-emulators    the two emulators disagree: points at an emulator
//   simulator-agrees-with-kernel the independent model of that kernel does what the kernel did: points at the oracle
//   same-under-both-emulators    both emulators, the same observation: points at KVM
// The classification goes into summary.json (properties[].crosscheck) and so into every report.

import { dirname } from 'node:path';
import { targetFromSpec, UsageError } from '../adapters/index.ts';
import { emulatorPins } from '../adapters/kvm/pins.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { decodeCase } from '../core/codec.ts';
import { toJson, type Json } from '../core/json.ts';
import { propertyId, type AnyConformance } from '../core/property.ts';
import type { Crosscheck, PropertyResult } from '../core/result.ts';
import { observeWithRetry } from '../core/judge.ts';
import type { Target } from '../core/target.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { writeReports } from '../reports/write.ts';
import { readSummary } from './summaryFile.ts';
import { twinOfRelease } from './twins.ts';

export interface CrosscheckArgs {
  readonly file: string;
  readonly qemu: string | undefined;
  readonly quiet: boolean;
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function classify(c: Omit<Crosscheck, 'classification' | 'pointsAt'>): Pick<Crosscheck, 'classification' | 'pointsAt'> {
  if (c.otherEmulator && !c.otherEmulator.same) return { classification: 'differs-between-emulators', pointsAt: 'emulator' };
  if (c.simulator?.agreesWithKernel) return { classification: 'simulator-agrees-with-kernel', pointsAt: 'oracle' };
  if (c.otherEmulator?.same) return { classification: 'same-under-both-emulators', pointsAt: 'kvm' };
  return { classification: 'undecided', pointsAt: 'unknown' };
}

async function observe(t: Target, p: AnyConformance, kase: unknown): Promise<Json | { readonly error: string }> {
  try {
    return toJson(await observeWithRetry(p, kase, t));
  } catch (e) {
    return { error: e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e) };
  }
}

export async function crosscheckCommand(a: CrosscheckArgs): Promise<number> {
  const s = readSummary(a.file);
  const tgt = s.target as { kind?: string; spec?: string; kernelRelease?: string; kernelVersion?: string; emulator?: { name?: string } };
  if (tgt.kind !== 'qemu' || !tgt.spec)
    throw new UsageError(`${a.file}: crosscheck needs a run on a qemu: target (this one is ${tgt.kind ?? '?'})`);
  const failing = s.properties.filter(
    (p) => (p.verdict === 'fail' && p.counterexample !== undefined && p.finding === undefined) || (p.known ?? []).length > 0,
  );
  const say = (line: string): void => void (a.quiet || process.stdout.write(`${line}\n`));
  if (failing.length === 0) {
    say(`crosscheck: ${a.file} has no failing property and no known deviation`);
    return 0;
  }
  const names = emulatorPins().emulators.map((e) => e.name);
  const ran = tgt.emulator?.name ?? emulatorPins().default;
  const other = a.qemu ?? names.find((n) => n !== ran);
  if (other === undefined) throw new UsageError('crosscheck: no second emulator in fixtures/emulators.json (give --qemu)');
  const spec = tgt.spec.replace(/,qemu=[^,@]+/, '');
  say(
    `crosscheck: ${failing.length} failing properties of ${tgt.spec}; again under QEMU ${other} and on the simulated ${tgt.kernelVersion ?? tgt.kernelRelease ?? '?'}`,
  );

  let otherTarget: Target | undefined;
  let otherWhy: string | undefined;
  try {
    otherTarget = await targetFromSpec(spec, { qemu: other, artefactDir: `${dirname(a.file)}/crosscheck` });
    await otherTarget.open();
  } catch (e) {
    otherWhy = e instanceof Error ? e.message.split('\n')[0] : String(e);
    otherTarget = undefined;
  }
  const twin = twinOfRelease(tgt.kernelVersion ?? tgt.kernelRelease ?? '');
  const sim = twin ? simulatorTarget({ knobs: twin.knobs, label: `sim(${twin.release})` }) : undefined;
  await sim?.open();

  const results: PropertyResult[] = [];
  let disagreements = 0;
  try {
    for (const r of s.properties) {
      if (!failing.includes(r)) {
        results.push(r);
        continue;
      }
      const p = ALL_PROPERTIES.find((q): q is AnyConformance => q.kind === 'conformance' && propertyId(q) === `${r.family}/${r.name}`);
      if (!p) {
        results.push(r);
        continue;
      }
      const check = async (counterexample: Json, actual: Json | undefined): Promise<Crosscheck> => {
        const kase = decodeCase(p.caseKind, counterexample);
        const base = {
          otherEmulator: otherTarget
            ? await (async () => {
                const got = await observe(otherTarget as Target, p, kase);
                return { name: other, actual: got, same: same(got as Json, actual) };
              })()
            : undefined,
          simulator: sim
            ? await (async () => {
                const got = await observe(sim, p, kase);
                return { actual: got, agreesWithKernel: same(got as Json, actual) };
              })()
            : undefined,
          ...(otherWhy ? { note: `QEMU ${other} could not be used: ${otherWhy}` } : {}),
        };
        return { ...base, ...classify(base) };
      };
      let next: PropertyResult = r;
      if (r.verdict === 'fail' && r.counterexample !== undefined) {
        const c = await check(r.counterexample, r.actual);
        say(`${c.pointsAt.padEnd(8)} ${r.family}/${r.name}: ${c.classification}`);
        next = { ...next, crosscheck: c };
      }
      // a known deviation's example: does the crosscheck put the blame where the entry does?
      const known = [];
      for (const k of r.known ?? []) {
        const c = await check(k.example.counterexample, k.example.actual);
        const agrees = c.pointsAt === (k.kind === 'emulator' ? 'emulator' : 'kvm');
        say(
          `${c.pointsAt.padEnd(8)} ${r.family}/${r.name}: known ${k.kind} deviation ${k.id}: ${c.classification}${agrees ? '' : ' (NOT what the entry says)'}`,
        );
        if (!agrees) disagreements++;
        known.push({ ...k, crosscheck: c });
      }
      results.push(known.length > 0 ? { ...next, known } : next);
    }
  } finally {
    await otherTarget?.close();
    await sim?.close();
  }
  const out = writeReports(dirname(a.file), { ...s, properties: results });
  say(`crosscheck: written into ${out} and the other reports beside it`);
  // a known deviation the crosscheck blames on someone else is a fixture to look at again
  return disagreements > 0 ? 1 : 0;
}
