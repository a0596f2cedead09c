// `s2conform report <summary.json...> [--out FILE]`: merge the runs of several
// targets (or profiles) into one conformance matrix, a single static HTML file.

import { makeDirs } from '../reports/summary.ts';
import { dirname, resolve } from 'node:path';
import { readSummary } from './summaryFile.ts';
import { renderHtml } from '../reports/html.ts';
import { writeAtomic } from '../reports/summary.ts';

export interface ReportArgs {
  readonly files: readonly string[];
  readonly out: string;
  readonly quiet: boolean;
}

export function reportCommand(a: ReportArgs): number {
  const runs = a.files.map(readSummary);
  const out = resolve(a.out);
  makeDirs(dirname(out));
  writeAtomic(out, renderHtml(runs));
  const props = new Set(runs.flatMap((s) => s.properties.map((r) => `${r.family}/${r.name}`))).size;
  if (!a.quiet) process.stdout.write(`${runs.length} runs, ${props} properties: ${out}\n`);
  return 0;
}
