// --target: which adapter a spec names.

import type { Target } from '../core/target.ts';
import { simulatorTarget } from './simulator/index.ts';
import { getMutant, mutantNames } from './simulator/mutants.ts';

export interface TargetOptions {
  /** where a target may write its console log and other artefacts */
  readonly artefactDir?: string;
  readonly strict?: boolean;
}

const KVM_ADAPTER = './kvm/index.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const REAL = /^(qemu:[a-z0-9-]+(,[a-z0-9=-]+)*@[0-9.]+|native|ssh:[A-Za-z0-9._-]+@[A-Za-z0-9._:-]+)$/;

export function checkTargetSpec(spec: string): void {
  if (spec === 'sim' || REAL.test(spec)) return;
  if (spec.startsWith('sim:')) {
    if (getMutant(spec.slice(4))) return;
    throw new UsageError(`unknown simulator mutant '${spec.slice(4)}' (known: ${mutantNames().join(', ')})`);
  }
  throw new UsageError(
    `unknown target '${spec}' (expected sim, sim:<mutant>, qemu:<cpu>[,vhe|,nvhe|,protected][,mte]@<kernel>, native or ssh:<user@host>)`,
  );
}

export async function targetFromSpec(spec: string, o: TargetOptions = {}): Promise<Target> {
  checkTargetSpec(spec);
  if (spec === 'sim') return simulatorTarget({ strict: o.strict ?? false });
  // sim:<mutant>: the simulator with one historical bug put back (adapters/simulator/mutants.ts)
  const mutant = spec.startsWith('sim:') ? getMutant(spec.slice(4)) : undefined;
  if (mutant) return simulatorTarget({ strict: o.strict ?? false, knobs: mutant.knobs, label: spec });
  // loaded on demand: the simulator path never touches the real-KVM adapter
  const kvm = (await import(KVM_ADAPTER)) as { kvmTarget(spec: string, o: { consoleLog?: string }): Target };
  return kvm.kvmTarget(spec, o.artefactDir ? { consoleLog: `${o.artefactDir}/console.log` } : {});
}
