// `npm run stryker`: Stryker over oracles/ and adapters/simulator/, one folder after
// the other (each alone takes the machine's time; together they would not fit one
// run's memory of the in-process tests), then the mutation score of each folder,
// per file, with the survivors' count. Exits 1 when a folder is below 85 %.
//
//   npm run stryker                      both folders, then the scores
//   npm run stryker -- --part oracles    one folder
//   npm run stryker -- --score-only      the scores of the last reports
//
// Reports: reports/stryker/<part>/index.html and mutation.json (git-ignored), and
// reports/stryker/score.json with the figures printed here.

import { readFileSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { execa } from 'execa';

const PARTS = { oracles: 'oracles/**/*.ts', simulator: 'adapters/simulator/**/*.ts' } as const;
type Part = keyof typeof PARTS;
const TARGET = 85;

interface Mutant {
  readonly status: string;
  readonly static?: boolean;
}
interface Report {
  readonly files: Record<string, { readonly mutants: readonly Mutant[] }>;
}

/** Stryker's score: (killed + timeout) / (all valid mutants); no-coverage counts as survived. */
function score(ms: readonly Mutant[]): { total: number; detected: number; survived: number; noCoverage: number; pct: number } {
  const valid = ms.filter((m) => m.status !== 'CompileError' && m.status !== 'RuntimeError' && m.status !== 'Ignored');
  const detected = valid.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
  const survived = valid.filter((m) => m.status === 'Survived').length;
  const noCoverage = valid.filter((m) => m.status === 'NoCoverage').length;
  return { total: valid.length, detected, survived, noCoverage, pct: valid.length ? (100 * detected) / valid.length : 0 };
}

const args = process.argv.slice(2);
const only = args.includes('--part') ? (args[args.indexOf('--part') + 1] as Part) : undefined;
if (only !== undefined && !(only in PARTS)) {
  console.error(`stryker: --part is one of ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
const parts = (only ? [only] : Object.keys(PARTS)) as Part[];

if (!args.includes('--score-only')) {
  for (const part of parts) {
    console.log(`stryker: ${part} (${PARTS[part]})`);
    await execa('npx', ['stryker', 'run', 'stryker.config.mjs', '--mutate', PARTS[part], '--tempDirName', `.stryker-tmp-${part}`], {
      env: { STRYKER_PART: part },
      stdio: 'inherit',
    });
  }
}

let below = false;
const out: Record<string, unknown> = {};
for (const part of Object.keys(PARTS) as Part[]) {
  const file = `reports/stryker/${part}/mutation.json`;
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const all = Object.values(r.files).flatMap((f) => f.mutants);
  const s = score(all);
  const nonStatic = score(all.filter((m) => !m.static));
  console.log(
    `\n${part}: ${s.pct.toFixed(1)} % (${s.detected} of ${s.total}; ${s.survived} survived, ${s.noCoverage} without coverage); without static mutants ${nonStatic.pct.toFixed(1)} %`,
  );
  const files: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(r.files).sort()) {
    const fs = score(f.mutants);
    files[name] = fs;
    console.log(
      `  ${name.padEnd(34)} ${fs.pct.toFixed(1).padStart(5)} %  ${String(fs.detected).padStart(4)} / ${String(fs.total).padEnd(4)} survived ${fs.survived}, no coverage ${fs.noCoverage}`,
    );
  }
  out[part] = { ...s, withoutStatic: nonStatic.pct, files };
  if (s.pct < TARGET) below = true;
}
mkdirSync('reports/stryker', { recursive: true });
writeFileSync('reports/stryker/score.json', `${JSON.stringify(out, null, 2)}\n`);
if (below) console.log(`\nstryker: a folder is below ${TARGET} %`);
process.exit(below ? 1 : 0);
