// `s2conform run`: open the target, choose the profile, run the selected
// properties, write the reports (summary.json, ktap.txt, junit.xml, index.html)
// after each, print one line per property and a verdict per family.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { checkTargetSpec, targetFromSpec, UsageError } from '../adapters/index.ts';
import { toJson } from '../core/json.ts';
import { propertyId, type AnyProperty, type Family } from '../core/property.ts';
import type { PropertyResult, Summary } from '../core/result.ts';
import { totals } from '../core/result.ts';
import { runProperty } from '../core/runner.ts';
import { TargetDied, TargetUnusable, type Target, type TargetInfo } from '../core/target.ts';
import { getProfile, profileForRelease, type Profile } from '../oracles/profiles.ts';
import { propertiesOf } from '../properties/index.ts';
import { writeReports } from '../reports/write.ts';
import { reportDirProblem } from '../reports/summary.ts';
import { Progress } from './progress.ts';
import { onStopSignal, within, type StopSignal } from './signals.ts';
import { deviationsFor, loadDeviations } from '../core/deviations.ts';
import type { RegressionResult } from '../core/result.ts';
import { regressionTotals, replayForRun, reportRegressions } from './regress.ts';
import type { SimJobData } from './simWorker.ts';

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

function defaultReportDir(target: string): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join('reports', `${stamp}-${target.replace(/[^A-Za-z0-9.-]+/g, '_')}`);
}

function chooseProfile(name: string, info: TargetInfo): Profile {
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

/** How long a stopping run waits for the target to power off before execa's cleanup kills it. */
const STOP_GRACE_MS = 3000;

/** The target, refusing to boot again once a signal has stopped the run (no QEMU started after Ctrl-C). */
function stoppable(t: Target, stopped: () => StopSignal | undefined): Target {
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

export async function runCommand(a: RunArgs, version: string, openTarget: OpenTarget = targetFromSpec): Promise<number> {
  const t0 = performance.now();
  const started = new Date().toISOString();
  let props = propertiesOf(a.families);
  if (a.property !== undefined) {
    props = props.filter((p) => propertyId(p) === a.property);
    if (props.length === 0) throw new UsageError(`no property '${a.property}' in families ${a.families.join(',')}`);
  }
  if (a.shard) {
    const { index, count } = a.shard;
    const all = props.length;
    props = props.filter((_, k) => k % count === index - 1);
    if (props.length === 0) throw new UsageError(`--shard ${index}/${count}: only ${all} properties are selected, so this share is empty`);
  }
  const dir = a.report ?? defaultReportDir(a.target);
  const progress = new Progress({
    write: (s) => process.stdout.write(s),
    tty: process.stdout.isTTY === true,
    columns: process.stdout.columns,
    quiet: a.quiet,
    env: process.env,
  });
  const say = (s: string) => progress.line(s);

  // a bad spec, then a report directory that cannot be written: neither opens the target
  checkTargetSpec(a.target);
  const problem = reportDirProblem(dir);
  if (problem) throw new UsageError(problem);
  const results: PropertyResult[] = [];
  let regressions: RegressionResult[] = [];
  let info: TargetInfo | undefined;
  let profile: Profile | undefined;
  let stopped: StopSignal | undefined;
  const summary = (complete: boolean): Summary => ({
    tool: 's2conform',
    version,
    target: info ? toJson(info) : { spec: a.target },
    profile: profile?.name ?? a.profile,
    strict: a.strict,
    seed: a.seed,
    properties: results,
    regressions,
    totals: totals(results),
    durationMs: Math.round(performance.now() - t0),
    started,
    complete,
    ...(stopped ? { interrupted: stopped } : {}),
    ...(a.shard ? { shard: `${a.shard.index}/${a.shard.count}` } : {}),
  });
  const write = (complete: boolean): string => {
    try {
      return writeReports(dir, summary(complete));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new Error(`cannot write the reports in ${dir}: ${err.code ?? ''} ${err.message.replace(/^[A-Z]+: /, '').split(',')[0] ?? ''}`.replace(/\s+/g, ' '));
    }
  };

  const targetOptions = {
    artefactDir: dir,
    strict: a.strict,
    ...(a.qemu !== undefined ? { qemu: a.qemu } : {}),
    ...(a.kernelConfig !== undefined ? { kernelConfig: a.kernelConfig } : {}),
    ...(a.bootTimeoutS !== undefined ? { bootTimeoutMs: a.bootTimeoutS * 1000 } : {}),
    ...(a.kernelArgs !== undefined ? { kernelArgs: a.kernelArgs } : {}),
    ...(a.sshConfig !== undefined ? { sshConfig: a.sshConfig } : {}),
  };
  let target: Target;
  try {
    target = await openTarget(a.target, targetOptions);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    process.stderr.write(`s2conform: target ${a.target} cannot be used: ${why}\n`);
    return e instanceof TargetUnusable ? 4 : 2;
  }
  // Ctrl-C / SIGTERM: stop QEMU or the helper first, then the reports say how far the run got.
  const opened = target;
  /** every target the run opened (--jobs: one per job), each stopped by a signal */
  const all: Target[] = [opened];
  const removeSignals = onStopSignal(async (signal) => {
    stopped = signal;
    progress.interrupt();
    await stopThreads();
    await within(Promise.all(all.map((t) => t.close())), STOP_GRACE_MS);
    let where = '';
    try {
      where = `; reports (incomplete) in ${write(false)}`;
    } catch (e) {
      where = `; ${e instanceof Error ? e.message : String(e)}`;
    }
    process.stderr.write(`s2conform: stopped by ${signal} after ${results.length} properties: target ${a.target} closed${where}\n`);
  });
  /** --jobs on the simulator: its worker threads, ended by a signal too */
  let stopThreads = (): Promise<void> => Promise.resolve();
  target = stoppable(opened, () => stopped);
  try {
    return await runOpened();
  } finally {
    removeSignals();
  }

  async function runOpened(): Promise<number> {
  try {
    info = await target.open();
  } catch (e) {
    if (stopped) return new Promise<number>(() => undefined); // the signal handler exits
    await within(target.close(), STOP_GRACE_MS); // nothing of a target that failed to open may outlive the run
    if (e instanceof UsageError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    process.stderr.write(`s2conform: target ${a.target} cannot be used: ${why}\n`);
    return e instanceof TargetUnusable ? 4 : 2;
  }
  const prof = chooseProfile(a.profile, info);
  profile = prof;
  const opened = info;
  const deviations = loadDeviations(DEVIATIONS_FILE);
  // --jobs N: N-1 more targets of the same spec, booted together, each with its own console log; on the
  // simulator, N worker threads instead (it is pure CPU: threads are what use the cores)
  const jobs = Math.min(a.jobs === 'auto' ? defaultJobs(opened.kind) : (a.jobs ?? 1), props.length);
  const workers: { target: Target; info: TargetInfo }[] = [{ target, info: opened }];
  const pool = jobs > 1 && opened.kind === 'sim' ? await simPool(jobs, { args: a, profile: prof.name }) : undefined;
  if (pool) stopThreads = () => pool.stop();
  if (jobs > 1 && !pool) {
    try {
      const more = await Promise.all(
        Array.from({ length: jobs - 1 }, async (_, j) => {
          const t = stoppable(await openTarget(a.target, { ...targetOptions, artefactDir: join(dir, `job-${j + 2}`) }), () => stopped);
          all.push(t);
          return { target: t, info: await t.open() };
        }),
      );
      workers.push(...more);
    } catch (e) {
      if (stopped) return new Promise<number>(() => undefined);
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      if (a.jobs === 'auto') {
        // the default asked for more than one: the run goes on with the one it has, and says so
        await Promise.all(all.slice(1).map((t) => t.close()));
        all.splice(1);
        process.stderr.write(`s2conform: one job only: another ${a.target} cannot be used: ${why}\n`);
      } else {
        await Promise.all(all.map((t) => t.close()));
        process.stderr.write(`s2conform: --jobs ${jobs}: another ${a.target} cannot be used: ${why}\n`);
        return 4;
      }
    }
  }
  say(`s2conform ${version}: target ${opened.spec}${jobs > 1 ? ` (${jobs} jobs)` : ''}, profile ${prof.name}, seed ${a.seed}, ${a.runs} runs per property`);

  try {
    write(false);
    // the regression corpus first, the entries of the selected properties
    regressions = await replayForRun({ target, info: opened, profile: prof, strict: a.strict, deviations }, props.map(propertyId));
    reportRegressions(regressions, say);
    const runOne = (p: AnyProperty, w: { target: Target; info: TargetInfo }, onCase: () => void) =>
      runProperty(p, { target: w.target, info: w.info, profile: prof, deviations: deviationsFor(deviations, propertyId(p), w.info) }, {
        runs: a.runs,
        seed: a.seed,
        path: a.path,
        strict: a.strict,
        replayCommand: replayCommand(a, prof, a.runs),
        onCase,
      });
    const families = [...new Set(props.map((p) => p.family))];
    if (jobs > 1) {
      // A pool: each job takes the next property; results are kept, reported and written in suite order,
      // so the report (and every verdict: each property runs from the seed alone) is that of --jobs 1.
      const done: (PropertyResult | undefined)[] = props.map(() => undefined);
      let next = 0;
      let flushed = 0;
      const flush = () => {
        while (flushed < props.length && done[flushed] !== undefined) {
          const p = props[flushed] as AnyProperty;
          const r = done[flushed] as PropertyResult;
          if (flushed === 0 || props[flushed - 1]?.family !== p.family) progress.startFamily(p.family, props.filter((x) => x.family === p.family).length);
          progress.startProperty(propertyId(p));
          results.push(r);
          write(false);
          progress.endProperty(r);
          if (props[flushed + 1]?.family !== p.family) progress.endFamily();
          flushed++;
        }
      };
      const runners: ((p: AnyProperty) => Promise<PropertyResult>)[] = pool
        ? pool.threads.map((t) => (p: AnyProperty) => t.run(propertyId(p)))
        : workers.map((w) => (p: AnyProperty) => runOne(p, w, () => undefined));
      await Promise.all(
        runners.map(async (run) => {
          for (;;) {
            const k = next++;
            const p = props[k];
            if (p === undefined || stopped) return;
            done[k] = await run(p);
            if (!stopped) flush();
          }
        }),
      );
    } else for (const family of families) {
      const members = props.filter((p) => p.family === family);
      progress.startFamily(family, members.length);
      for (const p of members) {
        progress.startProperty(propertyId(p));
        const r = await runOne(p, workers[0] as { target: Target; info: TargetInfo }, () => progress.tick());
        if (stopped) break;
        results.push(r);
        write(false); // on disk before the next property starts
        progress.endProperty(r);
      }
      if (stopped) break;
      progress.endFamily();
    }
  } finally {
    await pool?.stop();
    if (!stopped) await Promise.all(all.map((t) => t.close()));
  }
  if (stopped) return new Promise<number>(() => undefined); // the signal handler writes and exits
  const file = write(true);
  const t = totals(results);
  progress.final(`${t.pass} passed, ${t.fail} failed, ${t.skip} skipped, ${t.error} errors; report: ${file}`);
  const rt = regressionTotals(regressions);
  if (t.fail > 0 || rt.fail > 0) return 1;
  if (t.error > 0 || rt.error > 0) return 2;
  if (t.pass === 0) return 4;
  return 0;
}
}

interface SimThread {
  run(id: string): Promise<PropertyResult>;
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

/** N simulator jobs in worker threads (cli/simWorker.ts), each ready before the run starts. */
async function simPool(n: number, data: SimJobData): Promise<{ threads: SimThread[]; stop: () => Promise<void> }> {
  const all = Array.from({ length: n }, () => new Worker(new URL('./simWorker.mjs', import.meta.url), { workerData: data }));
  const threads = await Promise.all(
    all.map(
      (w) =>
        new Promise<SimThread>((resolve, reject) => {
          const pending = new Map<number, { done: (r: PropertyResult) => void; fail: (e: Error) => void }>();
          let next = 0;
          // a thread that fails fails what it was running (the run reports it), never hangs the pool
          w.on('error', (e) => {
            reject(e);
            for (const p of pending.values()) p.fail(e);
          });
          w.on('message', (m: { ready?: boolean; k?: number; r?: PropertyResult }) => {
            if (m.ready) resolve({ run: (id) => new Promise((done, fail) => (pending.set(next, { done, fail }), w.postMessage({ k: next++, id }))) });
            else if (m.k !== undefined && m.r) {
              pending.get(m.k)?.done(m.r);
              pending.delete(m.k);
            }
          });
        }),
    ),
  );
  return { threads, stop: async () => void (await Promise.all(all.map((w) => w.terminate()))) };
}
