// What a run produces: the summary.json contract (README, "Reading a result"), one entry per property.

import type { FieldDiff } from './compare.ts';
import type { Family } from './property.ts';
import type { Json } from './json.ts';

export type Verdict = 'pass' | 'fail' | 'skip' | 'error';

export interface PropertyResult {
  readonly family: Family;
  readonly name: string;
  readonly verdict: Verdict;
  readonly runs: number;
  readonly seed: number;
  readonly path?: string;
  readonly counterexample?: Json;
  readonly expected?: Json;
  readonly actual?: Json;
  readonly reason?: string;
  /** field-by-field difference of expected and actual (ESR fields decoded) */
  readonly diff?: readonly FieldDiff[];
  /** 'expected': a counterexample the suite predicts (a rejected design, a known deviation) */
  readonly finding?: 'expected' | 'known-deviation';
  /** the first case the property ran and what the target did: the facts a passing run observed */
  readonly sample?: { readonly case: Json; readonly observed: Json };
  /** known deviations (fixtures/deviations.json) met on the way: counted, not failed */
  readonly known?: readonly KnownHit[];
  readonly replay?: string;
  /**
   * a target that reuses VMs: how many VMs its cases got afresh and how many were handed
   * back after an earlier case (cases that cannot be told apart from a fresh VM: core/target.ts)
   */
  readonly vms?: { readonly fresh: number; readonly reused: number };
  /** s2conform crosscheck: the failure observed again under the other emulator and on the simulated kernel */
  readonly crosscheck?: Crosscheck;
  readonly durationMs: number;
}

/** Whose fault a real target's failure is (cli/crosscheck.ts). */
export interface Crosscheck {
  readonly classification: 'same-under-both-emulators' | 'differs-between-emulators' | 'simulator-agrees-with-kernel' | 'undecided';
  readonly pointsAt: 'kvm' | 'emulator' | 'oracle' | 'unknown';
  readonly otherEmulator?: { readonly name: string; readonly actual: Json; readonly same: boolean } | undefined;
  readonly simulator?: { readonly actual: Json; readonly agreesWithKernel: boolean } | undefined;
  readonly note?: string;
}

export interface KnownHit {
  readonly id: string;
  /** the kernel's deviation or the emulated CPU's */
  readonly kind: 'kernel' | 'emulator';
  readonly reference: string;
  readonly cases: number;
  readonly example: { readonly counterexample: Json; readonly expected: Json; readonly actual: Json };
  /** s2conform crosscheck of the example: should point where `kind` does */
  readonly crosscheck?: Crosscheck;
}

/** One replayed entry of the regression corpus (fixtures/regressions/, core/regressions.ts). */
export interface RegressionResult {
  /** the file name without .json */
  readonly id: string;
  readonly file: string;
  /** family/name of the property the case belongs to */
  readonly property: string;
  readonly verdict: Verdict;
  /** 1 when the case ran, 0 when skipped or broken */
  readonly runs: number;
  readonly counterexample: Json;
  readonly expected?: Json;
  readonly actual?: Json;
  readonly diff?: readonly FieldDiff[];
  readonly reason?: string;
  readonly finding?: 'known-deviation';
  readonly known?: readonly KnownHit[];
  /** the entry was recorded for another host and replayed on this target's (counterexample is the moved case) */
  readonly retargeted?: true;
  /** where the case was found */
  readonly origin: {
    readonly target: string;
    readonly profile: string;
    readonly seed: number;
    readonly path: string;
    readonly date: string;
  };
  readonly durationMs: number;
}

export interface Summary {
  readonly tool: 's2conform';
  readonly version: string;
  readonly target: Json;
  readonly profile: string;
  readonly strict: boolean;
  readonly seed: number;
  readonly properties: PropertyResult[];
  /** the regression corpus, replayed before the properties (absent in reports of older versions) */
  readonly regressions?: readonly RegressionResult[];
  readonly totals: { pass: number; fail: number; skip: number; error: number };
  readonly durationMs: number;
  /** when the run started (ISO 8601, UTC); absent in reports of older versions */
  readonly started?: string;
  /** false while the run is still going (the file is rewritten after every property) */
  readonly complete: boolean;
  /** the signal that stopped the run (SIGINT: Ctrl-C, SIGTERM), when one did; complete is then false */
  readonly interrupted?: 'SIGINT' | 'SIGTERM';
  /** --shard i/n: this run is the i-th of n shares of the selected properties */
  readonly shard?: string;
}

export function totals(rs: readonly PropertyResult[]): Summary['totals'] {
  const t = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const r of rs) t[r.verdict]++;
  return t;
}
