// What `s2conform run` and its simulator worker threads (cli/simWorker.ts) share: the run's
// arguments, the deviations file and the replay command every failure prints.

import { fileURLToPath } from 'node:url';
import type { Profile } from '../core/profile.ts';
import { propertyId, type AnyProperty, type Family } from '../core/property.ts';

export interface RunArgs {
  readonly target: string;
  readonly profile: string;
  readonly families: Family[];
  readonly property: string | undefined;
  readonly runs: number;
  readonly seed: number;
  readonly path: string | undefined;
  readonly strict: boolean;
  readonly report: string | undefined;
  readonly quiet: boolean;
  /** --qemu: an emulators.json name or a path to qemu-system-aarch64 */
  readonly qemu?: string | undefined;
  /** --kernel-config: the .config of a kernel given by path */
  readonly kernelConfig?: string | undefined;
  /** --boot-timeout: seconds from QEMU's start to the helper's READY line */
  readonly bootTimeoutS?: number | undefined;
  /** --kernel-args: appended to a qemu: target's kernel command line */
  readonly kernelArgs?: string | undefined;
  /** --ssh-config: the ssh client config of an ssh: target */
  readonly sshConfig?: string | undefined;
  /** --jobs N: N targets of the same spec (N QEMU instances) share the run's properties */
  readonly jobs?: number | 'auto' | undefined;
  /** --shard i/n: the i-th (1-based) of n shares of the selected properties */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
}

export const DEVIATIONS_FILE = fileURLToPath(new URL('../fixtures/deviations.json', import.meta.url));

export function replayCommand(a: RunArgs, profile: Profile, runs: number) {
  return (p: AnyProperty, seed: number, path: string): string =>
    [
      'npx s2conform run',
      `--target ${a.target}`,
      ...(a.qemu !== undefined ? [`--qemu ${a.qemu}`] : []),
      ...(a.kernelConfig !== undefined ? [`--kernel-config ${a.kernelConfig}`] : []),
      ...(a.bootTimeoutS !== undefined ? [`--boot-timeout ${a.bootTimeoutS}`] : []),
      ...(a.kernelArgs !== undefined ? [`--kernel-args '${a.kernelArgs}'`] : []),
      ...(a.sshConfig !== undefined ? [`--ssh-config ${a.sshConfig}`] : []),
      `--profile ${profile.name}`,
      `--property ${propertyId(p)}`,
      `--seed ${seed}`,
      `--path ${path}`,
      `--runs ${runs}`,
      ...(a.strict ? ['--strict'] : []),
    ].join(' ');
}

/** What a simulator worker thread is started with. */
export interface SimJobData {
  readonly args: RunArgs;
  readonly profile: string;
}
