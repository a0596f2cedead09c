// Every report of a run, rewritten atomically after every property: summary.json
// (the contract), ktap.txt (kernel CI), junit.xml (generic CI), index.html (people).

import { join } from 'node:path';
import type { Summary } from '../core/result.ts';
import { renderHtml } from './html.ts';
import { renderJunit } from './junit.ts';
import { toKcidb } from './kcidb.ts';
import { renderKtap } from './ktap.ts';
import { writeAtomic, writeSummary } from './summary.ts';

export const REPORT_FILES = ['summary.json', 'ktap.txt', 'junit.xml', 'index.html', 'kcidb.json'] as const;

/** Writes all reports into dir; returns the path of summary.json. */
export function writeReports(dir: string, s: Summary): string {
  const file = writeSummary(dir, s);
  writeAtomic(join(dir, 'ktap.txt'), renderKtap(s));
  writeAtomic(join(dir, 'junit.xml'), renderJunit(s));
  writeAtomic(join(dir, 'index.html'), renderHtml([s]));
  writeAtomic(join(dir, 'kcidb.json'), `${JSON.stringify(toKcidb(s), null, 1)}\n`);
  return file;
}
