// npm run mutants [-- --runs N] [--seed S] [--record]
// The whole suite (every property, mainline profile) against every named
// mutant of the simulator (adapters/simulator/mutants.ts). Prints one row per
// mutant: the property that killed it (the first in suite order), the cases it
// needed, the shrunk counterexample and the first difference; then the pending
// mutants. Exits 1 if any mutant survives. --record adds each killer's
// counterexample to the regression corpus (fixtures/regressions/<mutant>.json).

import { parseArgs } from 'node:util';
import { MUTANTS, PENDING_MUTANTS } from '../adapters/simulator/mutants.ts';
import { addToCorpus, entryFromResult } from '../core/regressions.ts';
import { REGRESSIONS_DIR } from '../cli/regress.ts';
import { ALL_PROPERTIES } from '../properties/index.ts';
import { killAll, shortCase, shortDiff } from './killMutants.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    runs: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    record: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) {
  process.stderr.write('mutants: --runs takes a positive whole number, --seed an integer\n');
  process.exit(2);
}

const cell = (s: string) => s.replace(/\|/g, '\\|');
const t0 = performance.now();
const verdicts = await killAll({ runs, seed });
const conformance = ALL_PROPERTIES.filter((p) => p.kind === 'conformance').length;

const out: string[] = [];
out.push(`Mutants of the simulator vs the suite (${conformance} conformance properties, mainline profile, ${runs} runs, seed ${seed})`);
out.push('');
out.push('| mutant | upstream | killed by | runs | shrunk counterexample | first difference (expected → actual) |');
out.push('| --- | --- | --- | --- | --- | --- |');
for (const v of verdicts) {
  const k = v.killer;
  const also = v.kills.length > 1 ? ` (+${v.kills.length - 1})` : '';
  out.push(
    `| \`${v.mutant.name}\` | ${cell(v.mutant.ref)} | ${k ? `\`${k.family}/${k.name}\`${also}` : '**SURVIVED**'} | ${k ? k.runs : '–'} | ${k ? cell(shortCase(k)) : ''} | ${k ? cell(shortDiff(k)) : ''} |`,
  );
}
for (const p of PENDING_MUTANTS) {
  out.push(`| \`${p.name}\` | ${cell(p.ref)} | pending: family \`${p.family}\` not landed | – | | |`);
}
const survivors = verdicts.filter((v) => !v.killer);
const errors = verdicts.flatMap((v) => v.errors.map((e) => `${v.mutant.name}: ${e.family}/${e.name}: ${e.reason ?? ''}`));
out.push('');
out.push(
  `${MUTANTS.length - survivors.length} of ${MUTANTS.length} mutants killed, ${survivors.length} survived, ${PENDING_MUTANTS.length} pending (${Math.round(performance.now() - t0)} ms)`,
);
for (const e of errors) out.push(`error (not a kill): ${e}`);
process.stdout.write(`${out.join('\n')}\n`);

if (values.record) {
  const date = new Date().toISOString().slice(0, 10);
  for (const v of verdicts) {
    // the killer's counterexample; if another mutant's entry already holds that case, the next kill's
    let done = false;
    for (const k of v.kills) {
      const entry = entryFromResult(k, {
        profile: 'mainline',
        strict: false,
        target: `sim:${v.mutant.name}`,
        date,
        note: `mutant ${v.mutant.name}: ${v.mutant.bug} (${v.mutant.upstream})`,
      });
      const w = addToCorpus(REGRESSIONS_DIR, v.mutant.name, entry, ALL_PROPERTIES);
      process.stdout.write(`${w.added ? 'recorded' : 'already in the corpus'}: ${v.mutant.name}: ${entry.property} → ${w.file}\n`);
      done = w.added || w.file.endsWith(`/${v.mutant.name}.json`);
      if (done) break;
    }
    if (!done && v.killer) process.stdout.write(`${v.mutant.name}: every counterexample is already in the corpus under another name\n`);
  }
}
process.exitCode = survivors.length > 0 ? 1 : 0;
