// summary.json, written atomically (temp file + rename) after every property,
// so a run killed at any point leaves a valid report of what it finished.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from '../core/result.ts';

/** Write a whole file or leave the old one: a temp file beside it, then rename. */
export function writeAtomic(file: string, text: string): string {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
  return file;
}

export function writeSummary(dir: string, s: Summary): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  return writeAtomic(join(dir, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);
}
