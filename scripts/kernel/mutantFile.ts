// A kernel mutant is a patch in fixtures/kernel-mutants/, headed by `# key: value` lines (patch skips
// them): what it does, the upstream commit it reverts or reapplies, the simulator mutant it matches,
// the targets (CPU and options of a qemu: spec) and families that must kill it, and, for a mutant no
// emulated CPU can show, `observable: no: <why>`.

import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { FAMILIES, type Family } from '../../core/property.ts';
import { REPO_ROOT } from '../../core/paths.ts';

export const MUTANTS_DIR = join(REPO_ROOT, 'fixtures', 'kernel-mutants');

export interface KernelMutant {
  readonly name: string;
  readonly file: string;
  readonly what: string;
  readonly upstream: string;
  readonly simulator: string;
  /** the part of a qemu: spec before '@': "max", "max,protected", "max,mte" */
  readonly targets: readonly string[];
  readonly families: readonly Family[];
  /** why no emulated CPU can show it, when none can */
  readonly unobservable?: string;
}

export function parseMutant(file: string): KernelMutant {
  const head = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^# ([a-z]+): (.*)$/.exec(line);
    if (!m) break;
    head.set(m[1] ?? '', m[2] ?? '');
  }
  const need = (k: string): string => {
    const v = head.get(k);
    if (v === undefined) throw new Error(`${file}: no '# ${k}:' header line`);
    return v;
  };
  const families = need('families')
    .split(',')
    .map((f) => f.trim());
  for (const f of families) if (!FAMILIES.includes(f as Family)) throw new Error(`${file}: unknown family '${f}'`);
  const observable = head.get('observable');
  return {
    name: basename(file, '.patch'),
    file,
    what: need('what'),
    upstream: need('upstream'),
    simulator: head.get('simulator') ?? '',
    targets: need('targets')
      .split(/\s+/)
      .filter((x) => x),
    families: families as Family[],
    ...(observable?.startsWith('no') ? { unobservable: observable.replace(/^no:?\s*/, '') } : {}),
  };
}

export function kernelMutants(dir = MUTANTS_DIR): KernelMutant[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((f) => parseMutant(join(dir, f)));
}
