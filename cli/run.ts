// `s2conform run`: open the target, choose the profile, run the selected
// properties, write the reports (summary.json, ktap.txt, junit.xml, index.html)
// after each, print one line per property and a verdict per family.

import { checkTargetSpec, targetFromSpec, UsageError } from '../adapters/index.ts';
import { deviationsFor, loadDeviations } from '../core/deviations.ts';
import { toJson } from '../core/json.ts';
import type { Profile } from '../core/profile.ts';
import { propertyId, type AnyProperty } from '../core/property.ts';
import { totals, type PropertyResult, type RegressionResult, type Summary } from '../core/result.ts';
import { runProperty } from '../core/runner.ts';
import type { Target, TargetInfo } from '../core/target.ts';
import { propertiesOf } from '../properties/index.ts';
import { reportDirProblem } from '../reports/summary.ts';
import { writeReports } from '../reports/write.ts';
import { Progress } from './progress.ts';
import { regressionTotals, replayForRun, reportRegressions } from './regress.ts';
import { runPooled, simPool } from './runPool.ts';
import { DEVIATIONS_FILE, replayCommand, type RunArgs } from './runShared.ts';
import {
  STOP_GRACE_MS,
  cannotUse,
  chooseProfile,
  defaultJobs,
  defaultReportDir,
  openMoreJobs,
  stoppable,
  targetOptions,
  type OpenTarget,
} from './runTarget.ts';
import { SIGNAL_EXIT, onStopSignal, within, type StopSignal } from './signals.ts';

export type { RunArgs } from './runShared.ts';
export { defaultJobs, type OpenTarget } from './runTarget.ts';

/** The properties --family, --property and --shard select, in suite order. */
function selectProperties(a: RunArgs): AnyProperty[] {
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
  return props;
}

/** The exit status of a finished run: failures first, then errors, then a run that passed nothing. */
function exitStatus(results: readonly PropertyResult[], regressions: readonly RegressionResult[]): number {
  const t = totals(results);
  const rt = regressionTotals(regressions);
  if (t.fail > 0 || rt.fail > 0) return 1;
  if (t.error > 0 || rt.error > 0) return 2;
  if (t.pass === 0) return 4;
  return 0;
}

export async function runCommand(a: RunArgs, version: string, openTarget: OpenTarget = targetFromSpec): Promise<number> {
  const t0 = performance.now();
  const started = new Date().toISOString();
  const props = selectProperties(a);
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
      throw new Error(
        `cannot write the reports in ${dir}: ${err.code ?? ''} ${err.message.replace(/^[A-Z]+: /, '').split(',')[0] ?? ''}`.replace(
          /\s+/g,
          ' ',
        ),
      );
    }
  };

  let target: Target;
  try {
    target = await openTarget(a.target, targetOptions(a, dir));
  } catch (e) {
    return cannotUse(a.target, e);
  }
  // Ctrl-C / SIGTERM: stop QEMU or the helper first, then the reports say how far the run got.
  const first = target;
  /** every target the run opened (--jobs: one per job), each stopped by a signal */
  const all: Target[] = [first];
  /** set with `stopped`: settles with 128 + the signal number once the stop has closed the targets and written the reports */
  let halted: Promise<number> | undefined;
  const stop = async (signal: StopSignal): Promise<void> => {
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
  };
  const removeSignals = onStopSignal((signal) => {
    const p = stop(signal);
    halted = p.then(
      () => SIGNAL_EXIT[signal],
      () => SIGNAL_EXIT[signal],
    );
    return p;
  });
  /** --jobs on the simulator: its worker threads, ended by a signal too */
  let stopThreads = (): Promise<void> => Promise.resolve();
  target = stoppable(first, () => stopped);
  try {
    return await runOpened();
  } finally {
    removeSignals();
  }

  async function runOpened(): Promise<number> {
    let opened: TargetInfo;
    try {
      opened = await target.open();
    } catch (e) {
      if (halted) return halted; // stopped by a signal: the stop has closed the target and says so
      await within(target.close(), STOP_GRACE_MS); // nothing of a target that failed to open may outlive the run
      return cannotUse(a.target, e);
    }
    info = opened;
    const prof = chooseProfile(a.profile, opened);
    profile = prof;
    const deviations = loadDeviations(DEVIATIONS_FILE);
    // --jobs N: N-1 more targets of the same spec, booted together, each with its own console log; on the
    // simulator, N worker threads instead (it is pure CPU: threads are what use the cores)
    const jobs = Math.min(a.jobs === 'auto' ? defaultJobs(opened.kind) : (a.jobs ?? 1), props.length);
    const workers: { target: Target; info: TargetInfo }[] = [{ target, info: opened }];
    const pool = jobs > 1 && opened.kind === 'sim' ? await simPool(jobs, { args: a, profile: prof.name }) : undefined;
    if (pool) stopThreads = () => pool.stop();
    if (jobs > 1 && !pool) {
      try {
        workers.push(...(await openMoreJobs(a, jobs, dir, openTarget, all, () => stopped)));
      } catch (e) {
        if (halted) return halted;
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
    say(
      `s2conform ${version}: target ${opened.spec}${jobs > 1 ? ` (${jobs} jobs)` : ''}, profile ${prof.name}, seed ${a.seed}, ${a.runs} runs per property`,
    );

    try {
      write(false);
      // the regression corpus first, the entries of the selected properties
      regressions = await replayForRun({ target, info: opened, profile: prof, strict: a.strict, deviations }, props.map(propertyId));
      reportRegressions(regressions, say);
      const runOne = (p: AnyProperty, w: { target: Target; info: TargetInfo }, onCase: () => void) =>
        runProperty(
          p,
          { target: w.target, info: w.info, profile: prof, deviations: deviationsFor(deviations, propertyId(p), w.info) },
          {
            runs: a.runs,
            seed: a.seed,
            path: a.path,
            strict: a.strict,
            replayCommand: replayCommand(a, prof, a.runs),
            onCase,
          },
        );
      if (jobs > 1) {
        const runners: ((p: AnyProperty) => Promise<PropertyResult>)[] = pool
          ? pool.threads.map((t) => (p: AnyProperty) => t.run(propertyId(p)))
          : workers.map((w) => (p: AnyProperty) => runOne(p, w, () => undefined));
        // results are reported and written in suite order, as with --jobs 1
        await runPooled(
          props,
          runners,
          () => stopped !== undefined,
          (p, r, k) => {
            if (k === 0 || props[k - 1]?.family !== p.family)
              progress.startFamily(p.family, props.filter((x) => x.family === p.family).length);
            progress.startProperty(propertyId(p));
            results.push(r);
            write(false);
            progress.endProperty(r);
            if (props[k + 1]?.family !== p.family) progress.endFamily();
          },
        );
      } else
        for (const family of [...new Set(props.map((p) => p.family))]) {
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
    if (halted) return halted; // the stop writes the reports (incomplete) and says so
    const file = write(true);
    const t = totals(results);
    progress.final(`${t.pass} passed, ${t.fail} failed, ${t.skip} skipped, ${t.error} errors; report: ${file}`);
    return exitStatus(results, regressions);
  }
}
