// `s2conform run`: open the target, choose the profile, run the selected
// properties, write the reports (summary.json, ktap.txt, junit.xml, index.html)
// after each, print one line per property and a verdict per family.

import { join } from 'node:path';
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
  /** --shard i/n: the i-th (1-based) of n shares of the selected properties */
  readonly shard?: { readonly index: number; readonly count: number } | undefined;
}

const DEVIATIONS_FILE = fileURLToPath(new URL('../fixtures/deviations.json', import.meta.url));

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

function replayCommand(a: RunArgs, profile: Profile, runs: number) {
  return (p: AnyProperty, seed: number, path: string): string =>
    [
      'npx s2conform run',
      `--target ${a.target}`,
      ...(a.qemu !== undefined ? [`--qemu ${a.qemu}`] : []),
      ...(a.kernelConfig !== undefined ? [`--kernel-config ${a.kernelConfig}`] : []),
      ...(a.bootTimeoutS !== undefined ? [`--boot-timeout ${a.bootTimeoutS}`] : []),
      ...(a.kernelArgs !== undefined ? [`--kernel-args '${a.kernelArgs}'`] : []),
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
  return {
    ...guarded,
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

  let target: Target;
  try {
    target = await openTarget(a.target, {
      artefactDir: dir,
      strict: a.strict,
      ...(a.qemu !== undefined ? { qemu: a.qemu } : {}),
      ...(a.kernelConfig !== undefined ? { kernelConfig: a.kernelConfig } : {}),
      ...(a.bootTimeoutS !== undefined ? { bootTimeoutMs: a.bootTimeoutS * 1000 } : {}),
      ...(a.kernelArgs !== undefined ? { kernelArgs: a.kernelArgs } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    process.stderr.write(`s2conform: target ${a.target} cannot be used: ${why}\n`);
    return e instanceof TargetUnusable ? 4 : 2;
  }
  // Ctrl-C / SIGTERM: stop QEMU or the helper first, then the reports say how far the run got.
  const opened = target;
  const removeSignals = onStopSignal(async (signal) => {
    stopped = signal;
    progress.interrupt();
    await within(opened.close(), STOP_GRACE_MS);
    let where = '';
    try {
      where = `; reports (incomplete) in ${write(false)}`;
    } catch (e) {
      where = `; ${e instanceof Error ? e.message : String(e)}`;
    }
    process.stderr.write(`s2conform: stopped by ${signal} after ${results.length} properties: target ${a.target} closed${where}\n`);
  });
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
    if (e instanceof UsageError) throw e;
    const why = e instanceof Error ? e.message : String(e);
    process.stderr.write(`s2conform: target ${a.target} cannot be used: ${why}\n`);
    return e instanceof TargetUnusable ? 4 : 2;
  }
  const prof = chooseProfile(a.profile, info);
  profile = prof;
  const opened = info;
  const deviations = loadDeviations(DEVIATIONS_FILE);
  say(`s2conform ${version}: target ${opened.spec}, profile ${prof.name}, seed ${a.seed}, ${a.runs} runs per property`);

  try {
    write(false);
    // issue 7: the regression corpus first, the entries of the selected properties
    regressions = await replayForRun({ target, info: opened, profile: prof, strict: a.strict, deviations }, props.map(propertyId));
    reportRegressions(regressions, say);
    const families = [...new Set(props.map((p) => p.family))];
    for (const family of families) {
      const members = props.filter((p) => p.family === family);
      progress.startFamily(family, members.length);
      for (const p of members) {
        progress.startProperty(propertyId(p));
        const r = await runProperty(p, { target, info: opened, profile: prof, deviations: deviationsFor(deviations, propertyId(p), opened) }, {
          runs: a.runs,
          seed: a.seed,
          path: a.path,
          strict: a.strict,
          replayCommand: replayCommand(a, prof, a.runs),
          onCase: () => progress.tick(),
        });
        if (stopped) break;
        results.push(r);
        write(false); // on disk before the next property starts
        progress.endProperty(r);
      }
      if (stopped) break;
      progress.endFamily();
    }
  } finally {
    if (!stopped) await target.close();
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
