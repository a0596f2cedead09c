// npm run kernel-mutants [-- --mutants a,b | --smoke] [--runs N] [--seed S] [--readme]
//                        [--score | --score-only] [--score-budget MIN] [--score-match REGEX]
//
// Real-kernel mutants (docs/mutants.md, "Kernel mutants"). Builds Debian's newest linux-source with fixtures/kernel/s2conform.config
// (once, into the cache), checks that the unmutated build conforms, then for each patch in
// fixtures/kernel-mutants/ applies it, rebuilds incrementally, boots the Image under QEMU in each target
// the patch names and runs its families. Prints the table (mutant, upstream, killed by, runs, shrunk
// counterexample, first difference) and exits 1 if an observable mutant survives.
// --score adds single-token mutants of the functions the suite covers (scripts/kernel/tokens.ts).
// --smoke: the unmutated build and one mutant (the nightly job's quick check).
// --readme: the table also rewritten into docs/mutants.md between the kernel-mutants markers.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { REPO_ROOT } from '../core/paths.ts';
import type { Family } from '../core/property.ts';
import type { PropertyResult, Summary } from '../core/result.ts';
import { shortCase, shortDiff } from './killMutants.ts';
import { kernelMutants, type KernelMutant } from './kernel/mutantFile.ts';
import { REGIONS, scoreMutants } from './kernel/score.ts';
import { buildImage, configure, ensureTree, keepImage, TreeError, withPatch, type Tree } from './kernel/tree.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    mutants: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    runs: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    score: { type: 'boolean', default: false },
    'score-only': { type: 'boolean', default: false },
    'score-budget': { type: 'string' },
    'score-match': { type: 'string' },
    readme: { type: 'boolean', default: false },
    out: { type: 'string', default: join('reports', 'kernel-mutants') },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!/^[1-9][0-9]*$/.test(values.runs) || !Number.isInteger(seed)) {
  process.stderr.write('kernel-mutants: --runs takes a positive whole number, --seed an integer\n');
  process.exit(2);
}
const SMOKE_MUTANT = 'memslot-bound-off-by-one';
const all = kernelMutants();
let chosen: KernelMutant[] = all;
if (values.smoke) chosen = all.filter((m) => m.name === SMOKE_MUTANT);
else if (values.mutants !== undefined) {
  const names = values.mutants.split(',');
  const unknown = names.filter((n) => !all.some((m) => m.name === n));
  if (unknown.length > 0) {
    process.stderr.write(
      `kernel-mutants: unknown mutant ${unknown.join(', ')} (fixtures/kernel-mutants/ has: ${all.map((m) => m.name).join(', ')})\n`,
    );
    process.exit(2);
  }
  chosen = all.filter((m) => names.includes(m.name));
}
if (values['score-only']) chosen = [];
const OUT = values.out;
mkdirSync(OUT, { recursive: true });
const log = (s: string) => process.stderr.write(`kernel-mutants: ${s}\n`);
const BIN = join(REPO_ROOT, 'bin', 's2conform.mjs');

export interface TargetRun {
  readonly spec: string;
  readonly exit: number;
  readonly summary: Summary | undefined;
  readonly killer: PropertyResult | undefined;
  readonly seconds: number;
  readonly stderr: string;
  /** the run did not finish within its time (a kernel that hangs the helper) */
  readonly timedOut: boolean;
}

/** One s2conform run of the families on one image, as a user would type it. */
export async function runOn(
  image: string,
  target: string,
  families: readonly Family[],
  report: string,
  timeoutMin = 30,
): Promise<TargetRun> {
  const spec = `qemu:${target}@${image}`;
  rmSync(report, { recursive: true, force: true });
  const t0 = performance.now();
  const r = await execa(
    'node',
    [
      BIN,
      'run',
      '--target',
      spec,
      '--family',
      families.join(','),
      '--runs',
      String(runs),
      '--seed',
      String(seed),
      '--boot-timeout',
      '60',
      '--report',
      report,
      '--quiet',
    ],
    {
      reject: false,
      timeout: timeoutMin * 60_000,
      killSignal: 'SIGTERM', // the run stops its QEMU and writes its reports (exit 143)
    },
  );
  const file = join(report, 'summary.json');
  const summary = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Summary) : undefined;
  return {
    spec,
    exit: r.exitCode ?? -1,
    summary,
    killer: summary?.properties.find((p) => p.verdict === 'fail'),
    seconds: Math.round((performance.now() - t0) / 1000),
    stderr: String(r.stderr).trim(),
    timedOut: r.timedOut,
  };
}

interface Row {
  readonly mutant: KernelMutant;
  readonly build: string;
  readonly runs: TargetRun[];
}

interface StoredRow {
  readonly name: string;
  readonly target: string;
  readonly verdict: 'killed' | 'survived' | 'not observable' | 'not built';
  readonly killer: string;
  readonly runs: number;
  readonly counterexample: string;
  readonly diff: string;
  readonly when: string;
  readonly runsPerProperty: number;
  readonly seed: number;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

async function main(): Promise<number> {
  const t0 = performance.now();
  let tree: Tree;
  try {
    tree = await ensureTree(log);
    await configure(tree);
  } catch (e) {
    process.stderr.write(`kernel-mutants: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  log(`building ${tree.pin.tree} ${tree.pin.version} (unmutated) in ${tree.build}`);
  const base = await buildImage(tree);
  if (!base.ok) {
    process.stderr.write(`kernel-mutants: the unmutated tree does not build:\n${base.tail ?? ''}\n`);
    return 2;
  }
  const baseImage = keepImage(tree, 'unmutated');
  log(`unmutated Image ready (${base.seconds} s)`);

  // The unmutated build must conform on every target and family the mutants use first.
  const pairs = new Map<string, Set<Family>>();
  for (const m of chosen) for (const t of m.targets) for (const f of m.families) pairs.set(t, (pairs.get(t) ?? new Set()).add(f));
  if (values.score || values['score-only'])
    for (const r of REGIONS) for (const t of r.targets) for (const f of r.families) pairs.set(t, (pairs.get(t) ?? new Set()).add(f));
  const baseRuns: TargetRun[] = [];
  for (const [t, fs] of pairs) {
    log(`unmutated: ${t}: ${[...fs].join(',')}`);
    const r = await runOn(baseImage, t, [...fs], join(OUT, 'unmutated', t.replace(/,/g, '-')));
    baseRuns.push(r);
    if (r.exit !== 0)
      log(
        `  the unmutated build does not conform on ${r.spec} (exit ${r.exit}): ${r.killer ? `${r.killer.family}/${r.killer.name}: ${shortDiff(r.killer)}` : r.stderr.split('\n')[0]}`,
      );
  }
  const baseConforms = baseRuns.every((r) => r.exit === 0);

  const rows: Row[] = [];
  for (const m of chosen) {
    log(`${m.name}: applying ${m.file}`);
    try {
      const row = await withPatch(tree, m.file, async (): Promise<Row> => {
        const b = await buildImage(tree);
        if (!b.ok) return { mutant: m, build: `did not build: ${b.tail ?? ''}`, runs: [] };
        keepImage(tree, m.name);
        log(`${m.name}: built in ${b.seconds} s`);
        return { mutant: m, build: `${b.seconds} s`, runs: [] };
      });
      if (row.build.startsWith('did not build')) {
        rows.push(row);
        continue;
      }
      const image = join(tree.build, '..', 'images', m.name, 'Image');
      for (const t of m.targets) {
        const r = await runOn(image, t, m.families, join(OUT, m.name, t.replace(/,/g, '-')));
        row.runs.push(r);
        log(
          `${m.name}: ${r.spec}: ${r.killer ? `killed by ${r.killer.family}/${r.killer.name} after ${r.killer.runs} runs` : `exit ${r.exit}, not killed`} (${r.seconds} s)`,
        );
        if (r.killer) break;
      }
      rows.push(row);
    } catch (e) {
      if (!(e instanceof TreeError)) throw e;
      rows.push({ mutant: m, build: `did not apply: ${e.message.split('\n')[0] ?? ''}`, runs: [] });
    }
  }
  // the tree is pristine again: rebuild so the next run starts from the unmutated objects
  await buildImage(tree);

  // Each mutant's row is kept on disk (reports/kernel-mutants/rows/<name>.json), so `--mutants a` redoes one
  // row and the table still lists every mutant: the latest result of each.
  const rowsDir = join(OUT, 'rows');
  mkdirSync(rowsDir, { recursive: true });
  for (const row of rows) {
    const last = row.runs[row.runs.length - 1];
    const k = last?.killer;
    const stored: StoredRow = {
      name: row.mutant.name,
      target: last ? last.spec.replace(/@.*/, '') : '',
      verdict: k ? 'killed' : row.runs.length === 0 ? 'not built' : row.mutant.unobservable !== undefined ? 'not observable' : 'survived',
      killer: k ? `${k.family}/${k.name}` : row.runs.length === 0 ? row.build : '',
      runs: k ? k.runs : 0,
      counterexample: k ? shortCase(k) : '',
      diff: k ? shortDiff(k) : '',
      when: new Date().toISOString(),
      runsPerProperty: runs,
      seed,
    };
    writeFileSync(join(rowsDir, `${row.mutant.name}.json`), `${JSON.stringify(stored, null, 1)}\n`);
  }
  const table = all.flatMap((m) => {
    const f = join(rowsDir, `${m.name}.json`);
    return existsSync(f) ? [{ m, r: JSON.parse(readFileSync(f, 'utf8')) as StoredRow }] : [];
  });
  const out: string[] = [];
  const namedRuns = [...new Set(table.map(({ r }) => `seed ${r.seed}, ${r.runsPerProperty} runs per property`))].join(' / ');
  out.push(
    `Kernel mutants: ${tree.pin.package} ${tree.pin.version} built with fixtures/kernel/s2conform.config, one patch at a time; QEMU TCG, ${namedRuns || `seed ${seed}, ${runs} runs per property`}`,
  );
  out.push('');
  out.push(
    `Unmutated build: ${baseRuns.map((r) => `${r.spec.replace(/@.*/, '')} ${r.exit === 0 ? 'conforms' : `DOES NOT CONFORM (exit ${r.exit})`} (${r.summary?.totals.pass ?? 0} passed, ${r.summary?.totals.skip ?? 0} skipped)`).join('; ')}`,
  );
  out.push('');
  out.push('| mutant | upstream | target | killed by | runs | shrunk counterexample | first difference (expected → actual) |');
  out.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const { m, r } of table) {
    const verdict =
      r.verdict === 'killed'
        ? `\`${r.killer}\``
        : r.verdict === 'not observable'
          ? `not observable under QEMU: ${m.unobservable ?? ''}`
          : r.verdict === 'not built'
            ? `**${r.killer}**`
            : '**SURVIVED**';
    out.push(
      `| \`${m.name}\` | ${cell(m.upstream)} | ${r.target ? `\`${r.target}\`` : '–'} | ${cell(verdict)} | ${r.verdict === 'killed' ? r.runs : '–'} | ${cell(r.counterexample)} | ${cell(r.diff)} |`,
    );
  }
  out.push('');
  const count = (v: StoredRow['verdict']) => table.filter(({ r }) => r.verdict === v).length;
  const survivors = count('survived') + count('not built');
  out.push(
    `${count('killed')} of ${table.length} killed, ${count('survived')} survived, ${count('not observable')} not observable under QEMU${count('not built') ? `, ${count('not built')} did not build or apply` : ''} (this invocation: ${rows.length} mutants, ${Math.round((performance.now() - t0) / 1000)} s)`,
  );

  let scoreSurvivors = 0;
  if (values.score || values['score-only']) {
    const s = await scoreMutants(tree, {
      runs,
      seed,
      out: OUT,
      log,
      runOn,
      ...(values['score-budget'] ? { budgetMin: Number(values['score-budget']) } : {}),
      ...(values['score-match'] ? { match: new RegExp(values['score-match']) } : {}),
    });
    out.push('', ...s.lines);
    scoreSurvivors = s.unexplained;
  }
  const text = `${out.join('\n')}\n`;
  process.stdout.write(text);
  writeFileSync(join(OUT, 'table.md'), text);
  if (values.readme) {
    const readme = join(REPO_ROOT, 'docs', 'mutants.md');
    const r = readFileSync(readme, 'utf8');
    const begin = '<!-- kernel-mutants:begin -->';
    const end = '<!-- kernel-mutants:end -->';
    if (r.includes(begin) && r.includes(end)) {
      writeFileSync(readme, `${r.slice(0, r.indexOf(begin) + begin.length)}\n${text}${r.slice(r.indexOf(end))}`);
      log('docs/mutants.md table updated');
    } else log(`docs/mutants.md has no ${begin} … ${end} markers: not updated`);
  }
  if (!baseConforms) return 1;
  return survivors > 0 || scoreSurvivors > 0 ? 1 : 0;
}

process.exitCode = await main();
