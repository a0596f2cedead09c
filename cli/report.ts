// `s2conform report <summary.json...> [--out FILE]`: merge the runs of several
// targets (or profiles) into one conformance matrix, a single static HTML file.

import { makeDirs } from '../reports/summary.ts';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../adapters/index.ts';
import type { Summary } from '../core/result.ts';
import { renderHtml } from '../reports/html.ts';
import { writeAtomic } from '../reports/summary.ts';

export interface ReportArgs {
  readonly files: readonly string[];
  readonly out: string;
  readonly quiet: boolean;
}

function isSummary(v: unknown): v is Summary {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return o['tool'] === 's2conform' && typeof o['profile'] === 'string' && Array.isArray(o['properties']) && typeof o['totals'] === 'object';
}

export function readSummary(file: string): Summary {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON`);
  }
  if (!isSummary(v)) throw new UsageError(`${file} is not an s2conform summary.json`);
  return v;
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
