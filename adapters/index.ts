// --target: which adapter a spec names (the grammar is adapters/spec.ts).

import type { Target } from '../core/target.ts';
import { simulatorTarget } from './simulator/index.ts';
import { getMutant } from './simulator/mutants.ts';
import { checkTargetSpec } from './checkSpec.ts';

export { UsageError } from './spec.ts';
export { checkTargetSpec } from './checkSpec.ts';

export interface TargetOptions {
  /** where a target may write its console log and other artefacts */
  readonly artefactDir?: string;
  readonly strict?: boolean;
  /** --qemu: an emulators.json name or a path to qemu-system-aarch64 */
  readonly qemu?: string;
  /** --kernel-config: the .config of a kernel given by path */
  readonly kernelConfig?: string;
  /** --boot-timeout: how long a QEMU target may take to boot */
  readonly bootTimeoutMs?: number;
  /** --kernel-args: more kernel command line for a qemu: target */
  readonly kernelArgs?: string;
  /** --ssh-config: the ssh client config of an ssh: target */
  readonly sshConfig?: string;
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
  return kvm.kvmTarget(spec, {
    ...(o.artefactDir ? { consoleLog: `${o.artefactDir}/console.log` } : {}),
    ...(o.qemu !== undefined ? { qemu: o.qemu } : {}),
    ...(o.kernelConfig !== undefined ? { kernelConfig: o.kernelConfig } : {}),
    ...(o.bootTimeoutMs !== undefined ? { bootTimeoutMs: o.bootTimeoutMs } : {}),
    ...(o.kernelArgs ? { kernelArgs: o.kernelArgs } : {}),
    ...(o.sshConfig !== undefined ? { sshConfig: o.sshConfig } : {}),
  });
}
