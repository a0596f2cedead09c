// What `s2conform run` and its simulator worker threads (cli/simWorker.ts) share: the run's
// arguments, the deviations file and the replay command every failure prints.

import { fileURLToPath } from 'node:url';
import type { Profile } from '../core/profile.ts';
import { propertyId, type AnyProperty, type Family } from '../core/property.ts';
import { replayLine } from './flagParse.ts';
import type { TargetFlags } from './flags.ts';

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
  /** the flags that pass through to the target (--qemu, --kernel-config, …: cli/flags.ts), as given */
  readonly targetFlags?: TargetFlags | undefined;
  /** --jobs N: N targets of the same spec (N QEMU instances) share the run's properties */
  readonly jobs?: number | 'auto' | undefined;
  /** --shard i/n: the i-th (1-based) of n shares of the selected properties */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
}

export const DEVIATIONS_FILE = fileURLToPath(new URL('../fixtures/deviations.json', import.meta.url));

export function replayCommand(a: RunArgs, profile: Profile, runs: number) {
  return (p: AnyProperty, seed: number, path: string): string =>
    replayLine({ ...a.targetFlags, target: a.target, profile: profile.name, property: propertyId(p), seed, path, runs, strict: a.strict });
}

/** What a simulator worker thread is started with. */
export interface SimJobData {
  readonly args: RunArgs;
  readonly profile: string;
}
