// `s2conform kcidb <summary.json...> [--out FILE] [--check]`: earlier runs as one KCIDB v5.3 submission
// (reports/kcidb.ts), checked against the schema's rules before it is written. Nothing is sent: submitting
// needs a KernelCI token (docs/reports.md, "KCIDB").
// --check: the files are kcidb.json files; only check them (exit 1 on any violation).

import { readFileSync } from 'node:fs';
import { UsageError } from '../adapters/index.ts';
import { mergeKcidb, toKcidb } from '../reports/kcidb.ts';
import { kcidbProblems } from '../reports/kcidbSchema.ts';
import { writeAtomic } from '../reports/summary.ts';
import { readSummary } from './summaryFile.ts';

export interface KcidbArgs {
  readonly files: readonly string[];
  readonly out: string;
  readonly check: boolean;
  readonly quiet: boolean;
}

export function kcidbCommand(a: KcidbArgs): number {
  if (a.files.length === 0) throw new UsageError('kcidb needs at least one summary.json (or kcidb.json with --check)');
  if (a.check) {
    let bad = 0;
    for (const f of a.files) {
      let v: unknown;
      try {
        v = JSON.parse(readFileSync(f, 'utf8'));
      } catch (e) {
        throw new UsageError(`${f}: ${e instanceof SyntaxError ? 'not JSON' : String((e as NodeJS.ErrnoException).code ?? e)}`);
      }
      const problems = kcidbProblems(v);
      for (const p of problems) process.stderr.write(`${f}: ${p}\n`);
      if (problems.length > 0) bad++;
      else if (!a.quiet) process.stdout.write(`${f}: valid KCIDB v5.3\n`);
    }
    return bad > 0 ? 1 : 0;
  }
  const merged = mergeKcidb(a.files.map((f) => toKcidb(readSummary(f))));
  const problems = kcidbProblems(merged);
  if (problems.length > 0) {
    for (const p of problems) process.stderr.write(`s2conform kcidb: ${p}\n`);
    return 1;
  }
  writeAtomic(a.out, `${JSON.stringify(merged, null, 1)}\n`);
  if (!a.quiet)
    process.stdout.write(
      `${a.out}: ${merged.checkouts.length} checkouts, ${merged.builds.length} builds, ${merged.tests.length} tests (KCIDB v5.3, checked)\n`,
    );
  return 0;
}
