// summary.json, written atomically (temp file + rename) after every property,
// so a run killed at any point leaves a valid report of what it finished.

import { existsSync, mkdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Summary } from '../core/result.ts';

/** Write a whole file or leave the old one: a temp file beside it, then rename. */
export function writeAtomic(file: string, text: string): string {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (e) {
    // a full disk or a vanished directory: leave the old file, and no temporary one beside it
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
    throw e;
  }
  return file;
}

/** Why a report directory cannot be used, in the user's terms; undefined when it can. */
export function reportDirProblem(dir: string): string | undefined {
  if (existsSync(dir) && !statSync(dir).isDirectory()) return `--report ${dir}: is a file, not a directory`;
  try {
    makeDirs(dir);
  } catch (e) {
    return `--report ${dir}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  const probe = join(dir, `.s2conform-write-test.${process.pid}`);
  try {
    writeAtomic(probe, 'x');
    rmSync(probe, { force: true });
  } catch (e) {
    return `--report ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  return undefined;
}

/**
 * mkdir -p, one component at a time: Node's recursive mkdirSync spins forever on a path under
 * /proc (mkdir there fails with ENOENT although the parent exists).
 */
export function makeDirs(dir: string): void {
  const full = resolve(dir);
  if (existsSync(full)) return;
  const parent = dirname(full);
  if (parent !== full) makeDirs(parent);
  try {
    mkdirSync(full, { mode: 0o755 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(full).isDirectory()) throw e;
  }
}

export function writeSummary(dir: string, s: Summary): string {
  makeDirs(dir);
  return writeAtomic(join(dir, 'summary.json'), `${JSON.stringify(s, null, 2)}\n`);
}
