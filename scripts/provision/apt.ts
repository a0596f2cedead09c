// Steps 2 to 4's access to the archive: the arm64 dpkg architecture, one apt source file for the
// suites the pins need (its URI copied from the machine's own Debian source), and pinned packages
// fetched and checked against their sha256.

import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { PinnedPackage } from '../../adapters/kvm/pins.ts';
import { die, info, loud, needRoot, run, spawnSync } from './shell.ts';

const SOURCES = '/etc/apt/sources.list.d/s2conform.sources';
const OLD_SOURCES = ['/etc/apt/sources.list.d/s2conform-backports-arm64.sources'];

let aptUpdated = false;
export function aptUpdate(): void {
  if (aptUpdated) return;
  needRoot('apt-get update');
  info('apt-get update');
  const out = run('apt-get', ['update']);
  if (/^(W|E): (Failed to fetch|Some index files failed)/m.test(out))
    die('apt-get update could not fetch some indexes: is the machine offline?');
  aptUpdated = true;
}

/** The URI and keyring of the machine's own source for `codename` (deb822 first, then one-line). */
function debianSource(codename: string): { uri: string; signedBy: string } {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  const d = '/etc/apt/sources.list.d';
  if (existsSync(d)) for (const f of readdirSync(d).sort()) if (/\.(list|sources)$/.test(f) && !f.startsWith('s2c')) files.push(join(d, f));
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    if (f.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const kv: Record<string, string> = {};
        for (const line of stanza.split('\n')) {
          const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
          if (m?.[1] && m[2] !== undefined && !line.startsWith('#')) kv[m[1].toLowerCase()] = m[2].trim();
        }
        if (kv['enabled'] === 'no') continue;
        if (!(kv['types'] ?? '').split(/\s+/).includes('deb') || !(kv['suites'] ?? '').split(/\s+/).includes(codename)) continue;
        const uri = (kv['uris'] ?? '').split(/\s+/)[0];
        if (uri) return { uri, signedBy: kv['signed-by'] ?? '' };
      }
    } else {
      for (const raw of text.split('\n')) {
        const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s/.exec(`${raw.replace(/#.*/, '').trim()} `);
        if (!m || m[3] !== codename || !m[2]) continue;
        return { uri: m[2], signedBy: /signed-by=(\S+)/.exec(m[1] ?? '')?.[1] ?? '' };
      }
    }
  }
  return die(`no apt source for suite '${codename}' in /etc/apt/sources.list(.d): cannot derive the archive's URI`);
}

/** One apt source file: each suite the pins need that the machine lacks, for the architectures it is needed for. */
export function ensureSources(need: ReadonlyMap<string, ReadonlySet<string>>): void {
  const codename =
    /^VERSION_CODENAME=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.trim() ??
    die('cannot read VERSION_CODENAME from /etc/os-release');
  const own = debianSource(codename);
  const signedBy = own.signedBy || '/usr/share/keyrings/debian-archive-keyring.gpg';
  const stanzas: string[] = [
    `# Written by s2conform (npm run provision): suites for pinned kernels and emulators.\n# URI copied from this machine's own '${codename}' source.`,
  ];
  const byArch = new Map<string, string[]>();
  for (const [suite, archs] of [...need].sort()) {
    if (suite === codename) continue; // the machine's own source serves it, for every dpkg architecture
    const key = [...archs].sort().join(' ');
    byArch.set(key, [...(byArch.get(key) ?? []), suite]);
  }
  for (const [archs, suites] of byArch)
    stanzas.push(
      `Types: deb\nURIs: ${own.uri}\nSuites: ${suites.join(' ')}\nComponents: main\nArchitectures: ${archs}\nSigned-By: ${signedBy}`,
    );
  const text = `${stanzas.join('\n\n')}\n`;
  const stale = OLD_SOURCES.filter(existsSync);
  if (existsSync(SOURCES) && readFileSync(SOURCES, 'utf8') === text && stale.length === 0) {
    info(`present: ${SOURCES}`);
    return;
  }
  needRoot('adding an apt source');
  for (const f of stale) rmSync(f);
  writeFileSync(`${SOURCES}.tmp`, text);
  renameSync(`${SOURCES}.tmp`, SOURCES);
  info(`wrote ${SOURCES}: ${[...byArch].map(([a, s]) => `${s.join(' ')} (${a})`).join('; ')}`);
  aptUpdated = false;
}

export function ensureArm64(): void {
  if (run('dpkg', ['--print-foreign-architectures']).split('\n').includes('arm64')) {
    info('dpkg: arm64 already added');
    return;
  }
  needRoot('dpkg --add-architecture arm64');
  run('dpkg', ['--add-architecture', 'arm64']);
  info('dpkg: added arm64');
  aptUpdated = false;
}

/** Versions of a package the archive serves for an architecture (newest first). */
export function madison(pkg: string, arch: string): string[] {
  const out = spawnSync('apt-cache', ['madison', `${pkg}:${arch}`]).stdout;
  return out
    .split('\n')
    .map((l) => l.split('|')[1]?.trim())
    .filter((v): v is string => !!v);
}

/** Newest package in a series (a regular expression over names) for an architecture. */
function newestOf(series: string, arch: string): { package: string; version: string } | undefined {
  const names = spawnSync('apt-cache', ['search', '--names-only', series])
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => new RegExp(series).test(n));
  let best: { package: string; version: string } | undefined;
  for (const p of names)
    for (const v of madison(p, arch))
      if (!best || spawnSync('dpkg', ['--compare-versions', v, 'gt', best.version]).status === 0) best = { package: p, version: v };
  return best;
}

/** Fetches and checks pinned packages; returns the .deb files in a private temporary directory. */
export function fetch(
  what: string,
  pins: readonly PinnedPackage[],
  series: readonly string[] | undefined,
  arch: string,
  allowNewer: boolean,
) {
  const tmp = mkdtempSync(join(tmpdir(), 's2c-deb-'));
  chmodSync(tmp, 0o755); // apt's _apt user downloads into it
  const got: { package: string; version: string; sha256: string; deb: string }[] = [];
  let newer = false;
  pins.forEach((pin, i) => {
    let want: { package: string; version: string; sha256: string | undefined } = pin;
    if (!madison(pin.package, arch).includes(pin.version)) aptUpdate();
    if (!madison(pin.package, arch).includes(pin.version)) {
      const s = series?.[i];
      const alt = s ? newestOf(s, arch) : undefined;
      if (!allowNewer || !alt)
        die(
          `${what}: pinned ${pin.package}:${arch}=${pin.version} is no longer in the archive${alt ? ` (newest of its series: ${alt.package}=${alt.version})` : ''}.\n` +
            'Update the pin in fixtures/, or re-run with --allow-newer (S2CONFORM_ALLOW_NEWER=1).',
        );
      if (!alt) return;
      want = { ...alt, sha256: undefined };
      newer = true;
      loud(
        `${what}: pinned ${pin.package}=${pin.version} has VANISHED from the archive.`,
        `--allow-newer: using ${alt.package}=${alt.version} instead, WITHOUT a sha256 pin.`,
        'Update fixtures/ to make runs reproducible.',
      );
    }
    run('apt-get', ['download', '-q', `${want.package}:${arch}=${want.version}`], { cwd: tmp });
    const deb =
      readdirSync(tmp)
        .map((f) => join(tmp, f))
        .find((f) => f.endsWith('.deb') && basename(f).startsWith(`${want.package}_`)) ??
      die(`${what}: apt-get download of ${want.package} left no .deb`);
    const sha256 = createHash('sha256').update(readFileSync(deb)).digest('hex');
    if (want.sha256 && sha256 !== want.sha256) die(`${what}: sha256 mismatch for ${basename(deb)}: got ${sha256}, pinned ${want.sha256}`);
    info(`${what}: ${basename(deb)} sha256 ${want.sha256 ? 'ok' : `${sha256} (no pin to compare with)`}`);
    got.push({ package: want.package, version: want.version, sha256, deb });
  });
  return { tmp, got, newer };
}
