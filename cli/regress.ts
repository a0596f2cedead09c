// The regression corpus from the command line:
//   s2conform regress add <summary.json> [--property family/name] [--name ID] [--note TEXT] [--dir DIR]
// and the replay `s2conform run` does before the properties.

import { fileURLToPath } from 'node:url';
import { parseFlags } from './args.ts';
import { UsageError } from '../adapters/index.ts';
import type { KnownDeviation } from '../core/deviations.ts';
import { propertyId } from '../core/property.ts';
import { addToCorpus, entryFromResult, loadCorpus, replayRegressions, type Regression } from '../core/regressions.ts';
import { toJson } from '../core/json.ts';
import { simulatorTarget } from '../adapters/simulator/index.ts';
import { getMutant } from '../adapters/simulator/mutants.ts';
import type { PropertyResult, RegressionResult } from '../core/result.ts';
import type { Target, TargetInfo } from '../core/target.ts';
import type { Profile } from '../oracles/profiles.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { readSummary } from './summaryFile.ts';
import { twinOfRelease } from './twins.ts';

/** The corpus: fixtures/regressions/ (S2C_REGRESSIONS names another directory, e.g. for tests). */
export const REGRESSIONS_DIR = process.env['S2C_REGRESSIONS'] ?? fileURLToPath(new URL('../fixtures/regressions/', import.meta.url));

export const REGRESS_HELP = `s2conform regress: the regression corpus (fixtures/regressions/*.json), replayed first by every run

Usage:
  s2conform regress add <summary.json> [--property family/name] [--name ID] [--note TEXT] [--dir DIR]
      adds the shrunk counterexample of every failed property in a report (or only of --property)
      to the corpus, one file each, with the seed, path, profile and target it came from;
      a case the corpus already holds is not added twice
  s2conform regress list [--dir DIR]
      one line per entry: id, property, where it came from
`;

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

interface SummaryIn {
  readonly target: string;
  readonly profile: string;
  readonly strict: boolean;
  readonly properties: readonly PropertyResult[];
}

function summaryIn(file: string): SummaryIn {
  const s = readSummary(file);
  return { target: (s.target as { spec: string }).spec, profile: s.profile, strict: s.strict === true, properties: s.properties };
}

export function regressAdd(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const { values, positionals } = parseFlags(
    argv,
    {
      property: { type: 'string' },
      name: { type: 'string' },
      note: { type: 'string' },
      dir: { type: 'string', default: REGRESSIONS_DIR },
    },
    true,
  );
  if (positionals.length !== 1) throw new UsageError('regress add takes one summary.json (try regress --help)');
  const file = positionals[0] as string;
  const s = summaryIn(file);
  const failed = s.properties.filter(
    (r) =>
      r.verdict === 'fail' &&
      r.counterexample !== undefined &&
      (values.property === undefined || `${r.family}/${r.name}` === values.property),
  );
  const replayable = failed.filter((r) =>
    ALL_PROPERTIES.some((p) => p.kind === 'conformance' && propertyId(p) === `${r.family}/${r.name}`),
  );
  if (replayable.length === 0) {
    throw new UsageError(
      `${file}: no failed ${values.property ? `property '${values.property}'` : 'property'} with a replayable counterexample (design properties involve no target)`,
    );
  }
  if (values.name !== undefined && replayable.length > 1) throw new UsageError('--name names one entry: give --property too');
  const date = new Date().toISOString().slice(0, 10);
  for (const r of replayable) {
    const id = values.name ?? slug(`${s.target}--${r.family}-${r.name}`);
    const entry = entryFromResult(r, {
      profile: s.profile,
      strict: s.strict,
      target: s.target,
      date,
      ...(values.note ? { note: values.note } : {}),
    });
    const w = addToCorpus(values.dir, id, entry, ALL_PROPERTIES);
    out(`${w.added ? 'added' : 'already in the corpus'}: ${entry.property} → ${w.file}\n`);
  }
  return 0;
}

export function regressList(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const { values } = parseFlags(argv, { dir: { type: 'string', default: REGRESSIONS_DIR } });
  for (const r of loadCorpus(values.dir, ALL_PROPERTIES)) {
    out(`${r.id}  ${r.property}  (${r.target}, ${r.profile}, seed ${r.seed}, ${r.date})\n`);
  }
  return 0;
}

export function regressCommand(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help')) {
    process.stdout.write(REGRESS_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'add') return regressAdd(rest);
  if (sub === 'list') return regressList(rest);
  throw new UsageError(`unknown regress command '${sub}' (add, list)`);
}

/** The replay `s2conform run` does first: the entries of the selected properties. */
export async function replayForRun(
  ctx: { target: Target; info: TargetInfo; profile: Profile; strict: boolean; deviations: readonly KnownDeviation[] },
  selected: readonly string[],
  dir: string = REGRESSIONS_DIR,
): Promise<RegressionResult[]> {
  const corpus = loadCorpus(dir, ALL_PROPERTIES).filter((r) => selected.includes(r.property));
  return replayRegressions({ ...ctx, retarget: retargetJudge(ctx.info) }, corpus);
}

/**
 * Whether an entry, moved onto a fixed-host target's host, still means what it was recorded for. An
 * entry from a simulator mutant does when, on that host, the simulated kernel of the target's release
 * with the mutant's bug put back observes something else than without it: the case still catches the
 * bug there. (A slot ending at 2^IPA, an access between N and L, an overlap beyond the IPA range mean
 * the same on any host; a default IPA of 40 bits on a host whose limit is 44 does not catch
 * 7d717558dd5e's bug.) An entry from a real target is replayed as it is.
 */
export function retargetJudge(info: TargetInfo): (r: Regression, moved: unknown) => Promise<string | undefined> {
  const release = twinOfRelease(info.kernelVersion ?? info.kernelRelease ?? '')?.knobs ?? {};
  return async (r, moved) => {
    const mutant = r.target.startsWith('sim:') ? getMutant(r.target.slice(4)) : undefined;
    if (!mutant) return undefined;
    const plain = simulatorTarget({ knobs: release });
    const buggy = simulatorTarget({ knobs: { ...release, ...mutant.knobs } });
    try {
      const [a, b] = [toJson(await r.prop.observe(moved, plain)), toJson(await r.prop.observe(moved, buggy))];
      return JSON.stringify(a) === JSON.stringify(b)
        ? `the case does not catch ${mutant.name} (with and without it: ${JSON.stringify(a)})`
        : undefined;
    } catch (e) {
      return `the case cannot be simulated there (${e instanceof Error ? e.message : String(e)})`;
    }
  };
}

const MARK = { pass: 'ok  ', fail: 'FAIL', skip: 'skip', error: 'ERR ' } as const;

/** One replayed entry as a person reads it (the same shape as a property's line). */
export function formatRegression(r: RegressionResult): string {
  const lines = [`${MARK[r.verdict]} regression ${r.id}: ${r.property} (${r.origin.target}, ${r.origin.date})`];
  for (const k of r.known ?? []) lines.push(`       known ${k.kind} deviation ${k.id}: ${k.reference}`);
  if (r.reason) lines.push(`       ${r.reason}`);
  if (r.verdict === 'fail') {
    lines.push(`       counterexample: ${JSON.stringify(r.counterexample)}`);
    for (const d of r.diff ?? []) {
      lines.push(`       ${d.path}: expected ${JSON.stringify(d.expected)}, actual ${JSON.stringify(d.actual)}`);
      for (const [k, v] of Object.entries(d.decoded ?? {}))
        lines.push(`         ${k}: expected ${JSON.stringify(v.expected)}, actual ${JSON.stringify(v.actual)}`);
    }
  }
  return lines.join('\n');
}

/** What a run prints for the replay: one summary line, and every entry that did not conform (skips only when verbose). */
export function reportRegressions(rs: readonly RegressionResult[], say: (s: string) => void): void {
  if (rs.length === 0) return;
  const t = regressionTotals(rs);
  say(`regressions (fixtures/regressions/): ${rs.length} replayed: ${t.pass} ok, ${t.fail} failed, ${t.skip} skipped, ${t.error} errors`);
  const skipped = rs.filter((r) => r.verdict === 'skip');
  if (skipped.length > 0)
    say(`       skipped: ${skipped.map((r) => r.id).join(', ')} (${skipped[0]?.reason ?? ''}${skipped.length > 1 ? ', …' : ''})`);
  for (const r of rs) if (r.verdict === 'fail' || r.verdict === 'error' || r.finding) say(formatRegression(r));
}

/** Counts of a replay, for the run's closing lines. */
export function regressionTotals(rs: readonly RegressionResult[]): { pass: number; fail: number; skip: number; error: number } {
  const t = { pass: 0, fail: 0, skip: 0, error: 0 };
  for (const r of rs) t[r.verdict]++;
  return t;
}
