// summary.json, written atomically (temp file + rename) after every property,
// so a run killed at any point leaves a valid report of what it finished.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from '../core/result.ts';

export function writeSummary(dir: string, s: Summary): string {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, 'summary.json');
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
  return file;
}
