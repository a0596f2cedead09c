// --target: which adapter a spec names (the grammar is adapters/spec.ts).

import type { Target } from '../core/target.ts';
import type { TransportOptions } from './kvm/transport.ts';
import { simulatorTarget } from './simulator/index.ts';
import { getMutant } from './simulator/mutants.ts';
import { checkTargetSpec } from './checkSpec.ts';

export { UsageError } from './spec.ts';
export { checkTargetSpec } from './checkSpec.ts';

/**
 * How a target is opened: the real target's own options (TransportOptions: --qemu, --kernel-config,
 * --boot-timeout, …, as the command line's table of flags gives them, cli/flags.ts) go to it untouched.
 */
export interface TargetOptions extends TransportOptions {
  /** where a target may write its console log and other artefacts */
  readonly artefactDir?: string;
  readonly strict?: boolean;
}

const KVM_ADAPTER = './kvm/index.ts';

export async function targetFromSpec(spec: string, o: TargetOptions = {}): Promise<Target> {
  const s = checkTargetSpec(spec);
  if (s.kind === 'sim') {
    // sim:<mutant>: the simulator with one historical bug put back (adapters/simulator/mutants.ts)
    const mutant = s.mutant === undefined ? undefined : getMutant(s.mutant);
    return simulatorTarget({ strict: o.strict ?? false, ...(mutant ? { knobs: mutant.knobs, label: spec } : {}) });
  }
  // loaded on demand: the simulator path never touches the real-KVM adapter
  const kvm = (await import(KVM_ADAPTER)) as typeof import('./kvm/index.ts');
  const { artefactDir, strict: _simulatorOnly, ...transport } = o;
  return kvm.kvmTarget(spec, { ...transport, ...(artefactDir ? { consoleLog: `${artefactDir}/console.log` } : {}) });
}
