// `s2conform run`'s target: where the reports go, the options the target is opened with, the profile
// it gets, how many jobs it runs, and the one line a target that cannot be used gets.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { type targetFromSpec, UsageError, type TargetOptions } from '../adapters/index.ts';
import type { Profile } from '../core/profile.ts';
import { TargetDied, TargetUnusable, type Target, type TargetInfo } from '../core/target.ts';
import { getProfile, profileForRelease } from '../oracles/profiles.ts';
import { passThrough } from './flagParse.ts';
import type { RunArgs } from './runShared.ts';
import type { StopSignal } from './signals.ts';

export function defaultReportDir(target: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('reports', `${stamp}-${target.replace(/[^A-Za-z0-9.-]+/g, '_')}`);
}

/** The options every target of the run is opened with (--jobs: each with its own artefact directory). */
export function targetOptions(a: RunArgs, dir: string): TargetOptions {
  return { artefactDir: dir, strict: a.strict, ...passThrough(a.targetFlags ?? {}) };
}

/**
 * A target that could not be made or opened: one line, and the exit status (4: unusable, 2: anything
 * else). A usage error is no target's fault: it is thrown on (exit 2, said as a usage error).
 */
export function cannotUse(spec: string, e: unknown): number {
  if (e instanceof UsageError) throw e;
  const why = e instanceof Error ? e.message : String(e);
  process.stderr.write(`s2conform: target ${spec} cannot be used: ${why}\n`);
  return e instanceof TargetUnusable ? 4 : 2;
}

export function chooseProfile(name: string, info: TargetInfo): Profile {
  if (name !== 'auto') {
    const p = getProfile(name);
    if (!p) throw new UsageError(`unknown profile '${name}'`);
    return p;
  }
  if (info.kind === 'sim') return getProfile('mainline') as Profile;
  const p = info.kernelRelease ? profileForRelease(info.kernelRelease, info.kernelVersion) : undefined;
  if (!p) throw new UsageError(`--profile auto: no profile for kernel '${info.kernelRelease ?? '?'}'`);
  return p;
}

/** How long a stopping run waits for the target to power off before execa's cleanup kills it. */
export const STOP_GRACE_MS = 3000;

/** The target, refusing to boot again once a signal has stopped the run (no QEMU started after Ctrl-C). */
export function stoppable(t: Target, stopped: () => StopSignal | undefined): Target {
  const refuse = (): never => {
    throw new TargetDied(`stopped by ${stopped() ?? 'a signal'}`);
  };
  const guarded: Target = {
    open: () => (stopped() ? Promise.reject(refuse()) : t.open()),
    host: (c) => (stopped() ? Promise.reject(refuse()) : t.host(c)),
    close: () => t.close(),
  };
  const restart = t.restart?.bind(t);
  const bootLog = t.bootLog?.bind(t);
  const vmCounts = t.vmCounts?.bind(t);
  return {
    ...guarded,
    ...(t.pipelineDepth !== undefined ? { pipelineDepth: t.pipelineDepth } : {}),
    ...(vmCounts ? { vmCounts } : {}),
    ...(restart ? { restart: () => (stopped() ? Promise.reject(refuse()) : restart()) } : {}),
    ...(bootLog ? { bootLog } : {}),
  };
}

/** How the run gets its target (tests hand in a wrapped one: fault injection, disk checks). */
export type OpenTarget = typeof targetFromSpec;

/**
 * --jobs N on a real target: N-1 more targets of the same spec, booted together, each with its own
 * console log (job-<k>/). Each goes into `all` as soon as it is made, so a signal stops it too.
 */
export function openMoreJobs(
  a: RunArgs,
  jobs: number,
  dir: string,
  openTarget: OpenTarget,
  all: Target[],
  stopped: () => StopSignal | undefined,
): Promise<{ target: Target; info: TargetInfo }[]> {
  return Promise.all(
    Array.from({ length: jobs - 1 }, async (_, j) => {
      const t = stoppable(await openTarget(a.target, targetOptions(a, join(dir, `job-${j + 2}`))), stopped);
      all.push(t);
      return { target: t, info: await t.open() };
    }),
  );
}

/**
 * --jobs by default. A qemu: job keeps two cores busy (QEMU's TCG vCPU thread, and Node generating,
 * checking and parsing for the 16 cases in flight): one job per two cores. An ssh: or native job's KVM
 * work runs on the arm64 machine: one per core here. The simulator: one (its threads cost about 1.5 s
 * to start, more than a default run of every family takes). Measured in docs/speed.md.
 */
export function defaultJobs(kind: TargetInfo['kind']): number {
  const cores = Math.max(1, availableParallelism());
  return kind === 'sim' ? 1 : kind === 'qemu' ? Math.max(1, Math.floor(cores / 2)) : cores;
}
