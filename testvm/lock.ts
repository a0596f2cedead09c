// `npm run testvm -- --lock`: resolves each image's root packages to their dependency closure in one
// Debian suite's arm64 index (the one apt already fetched) and writes fixtures/testvm.json, with the
// sha256 the index gives for every .deb. One suite for all, so the libraries agree with each other.

import { writeFileSync } from 'node:fs';
import { execaSync } from 'execa';
import { TESTVM_IMAGES, TESTVM_PINS_FILE, type TestVmImage, type TestVmPackage, type TestVmPins } from './pins.ts';

interface Stanza {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  readonly depends: string;
  readonly provides: string;
  readonly filename: string;
  readonly sha256: string;
  readonly size: number;
}

/** The suite's arm64 Packages index, as apt keeps it (apt-helper undoes its compression). */
export function readIndex(suite: string): Map<string, Stanza> {
  const file = String(
    execaSync('apt-get', ['indextargets', '--format', '$(FILENAME)', `Codename: ${suite}`, 'Architecture: arm64', 'Identifier: Packages'])
      .stdout,
  )
    .trim()
    .split('\n')[0];
  if (!file)
    throw new Error(`no arm64 Packages index for ${suite}: run npm run provision -- --testvm ssh (it adds the suite), then apt-get update`);
  const text = String(execaSync('/usr/lib/apt/apt-helper', ['cat-file', file], { maxBuffer: 1 << 30 }).stdout);
  const out = new Map<string, Stanza>();
  for (const st of text.split('\n\n')) {
    const f: Record<string, string> = {};
    for (const line of st.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line);
      if (m?.[1] && m[2] !== undefined) f[m[1]] = m[2];
    }
    const name = f['Package'];
    if (!name || !f['Version'] || !f['Filename'] || !f['SHA256']) continue;
    out.set(name, {
      package: name,
      version: f['Version'],
      architecture: f['Architecture'] ?? 'arm64',
      depends: [f['Pre-Depends'], f['Depends']].filter((d) => d).join(', '),
      provides: f['Provides'] ?? '',
      filename: f['Filename'],
      sha256: f['SHA256'],
      size: Number(f['Size'] ?? 0),
    });
  }
  return out;
}

/** Depends and Pre-Depends, transitively: the first alternative the index has (or a package that provides it). */
export function closure(index: ReadonlyMap<string, Stanza>, roots: readonly string[]): string[] {
  const provider = new Map<string, string>();
  for (const s of index.values())
    for (const p of s.provides
      .split(',')
      .map((x) => x.trim().split(/[\s(]/)[0] ?? '')
      .filter((x) => x))
      if (!provider.has(p)) provider.set(p, s.package);
  const seen = new Set<string>();
  const queue = [...roots];
  for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
    if (seen.has(n)) continue;
    const s = index.get(n);
    if (!s) throw new Error(`${n} is not in the index`);
    seen.add(n);
    for (const group of s.depends
      .split(',')
      .map((g) => g.trim())
      .filter((g) => g)) {
      const alts = group.split('|').map((a) => a.trim().split(/[\s(:]/)[0] ?? '');
      const pick = alts.find((a) => index.has(a)) ?? alts.map((a) => provider.get(a)).find((a) => a !== undefined);
      if (!pick) throw new Error(`${n}: cannot satisfy '${group}'`);
      queue.push(pick);
    }
  }
  return [...seen].sort();
}

export function lock(suite: string, roots: Readonly<Record<TestVmImage, readonly string[]>>): TestVmPins {
  const index = readIndex(suite);
  const images = new Map<string, TestVmImage[]>();
  for (const image of TESTVM_IMAGES) for (const p of closure(index, roots[image])) images.set(p, [...(images.get(p) ?? []), image]);
  const packages: TestVmPackage[] = [...images]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, imgs]) => {
      const s = index.get(name);
      if (!s) throw new Error(name);
      return {
        package: name,
        version: s.version,
        architecture: s.architecture === 'all' ? 'all' : 'arm64',
        sha256: s.sha256,
        filename: s.filename,
        size: s.size,
        images: imgs,
      };
    });
  return { suite, arch: 'arm64', roots, packages };
}

export function writeLock(pins: TestVmPins, file = TESTVM_PINS_FILE): void {
  const head = {
    comment:
      "Debian arm64 packages of the test VM (testvm/): written by `npm run testvm -- --lock` from the suite's index; provision --testvm fetches them and checks each sha256.",
  };
  writeFileSync(file, `${JSON.stringify({ ...head, ...pins }, null, 2)}\n`);
}
