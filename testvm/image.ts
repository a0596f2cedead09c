// The test VM's initramfs: the image's unpacked packages (usr-merged), one kernel's network modules
// and config, /etc for two users, and init.sh as /init. Written once per (image, kernel, contents)
// into the cache; the per-run key goes on the kernel command line, so the image holds no secret.

import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { S_IFCHR, S_IFDIR, S_IFLNK, S_IFREG, newcArchive, type CpioEntry } from '../adapters/kvm/initramfs.ts';
import { kernelDir, rootDir, testVmDir } from './provision.ts';
import type { TestVmImage } from './pins.ts';
import { hostNpm, stageProject } from './project.ts';

const INIT = new URL('./init.sh', import.meta.url);

/** Top-level directories Debian merged into /usr: their files go there, and they become links. */
const MERGED = ['bin', 'sbin', 'lib'];

const ETC: Readonly<Record<string, string>> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnokvm:x:1000:1000:no kvm access:/home/nokvm:/bin/sh\n',
  'etc/shadow': 'root:*:20000:0:99999:7:::\nnokvm:*:20000:0:99999:7:::\n', // '*': no password, not locked ('!' would refuse keys too)
  'etc/group': 'root:x:0:\nkvm:x:994:\nnokvm:x:1000:\n',
  'etc/shells': '/bin/sh\n',
  'etc/hostname': 's2c-testvm\n',
};

/** A tree into the archive: under `at`, or (at = '') as the root, its bin, sbin and lib merged into usr. */
function walk(root: string, rel: string, out: CpioEntry[], at = ''): void {
  for (const name of readdirSync(join(root, rel)).sort()) {
    if (name.startsWith('.s2conform')) continue;
    const r = rel ? `${rel}/${name}` : name;
    const top = r.split('/')[0] ?? '';
    const dest = at ? `${at}/${r}` : MERGED.includes(top) ? `usr/${r}` : r;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) {
      if (at || !MERGED.includes(r)) out.push({ name: dest, mode: S_IFDIR | (st.mode & 0o7777) });
      walk(root, r, out, at);
    } else if (st.isSymbolicLink()) out.push({ name: dest, mode: S_IFLNK | 0o777, data: Buffer.from(readlinkSync(join(root, r))) });
    else if (st.isFile()) out.push({ name: dest, mode: S_IFREG | (st.mode & 0o7777), data: readFileSync(join(root, r)) });
  }
}

export function testVmEntries(image: TestVmImage, kernel: string): CpioEntry[] {
  const root = rootDir(image);
  const kdir = kernelDir(kernel);
  for (const d of [root, kdir])
    if (!existsSync(d)) throw new Error(`${d} is missing: run npm run provision -- --testvm ${image} --kernels ${kernel}`);
  const entries: CpioEntry[] = [];
  walk(root, '', entries);
  const dirs = new Set(entries.filter((e) => (e.mode & 0o170000) === S_IFDIR).map((e) => e.name));
  const dir = (name: string, mode = 0o755): void => {
    if (!dirs.has(name)) entries.push({ name, mode: S_IFDIR | mode });
    dirs.add(name);
  };
  for (const d of ['usr', 'usr/bin', 'usr/sbin', 'usr/lib', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'home', 'home/nokvm', 'boot'])
    dir(d);
  for (const m of MERGED) entries.push({ name: m, mode: S_IFLNK | 0o777, data: Buffer.from(`usr/${m}`) });
  dir('usr/lib/modules');
  dir('usr/lib/modules/s2ctv');
  for (const f of readdirSync(kdir).filter((f) => f.endsWith('.ko') || f === 'order'))
    entries.push({ name: `usr/lib/modules/s2ctv/${f}`, mode: S_IFREG | 0o644, data: readFileSync(join(kdir, f)) });
  const release = readFileSync(join(kdir, 'release'), 'utf8').trim();
  // /boot/config-<release>, where a Debian machine has it: the ssh: target reads the kernel's geometry from it
  if (existsSync(join(kdir, 'config')))
    entries.push({ name: `boot/config-${release}`, mode: S_IFREG | 0o644, data: readFileSync(join(kdir, 'config')) });
  for (const [name, text] of Object.entries(ETC))
    entries.push({ name, mode: S_IFREG | (name === 'etc/shadow' ? 0o640 : 0o644), data: Buffer.from(text) });
  entries.push({ name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 });
  entries.push({ name: 'init', mode: S_IFREG | 0o755, data: readFileSync(INIT) });
  if (image === 'node') {
    // this project at /s2conform, and npm (npx) beside Debian's node
    entries.push({ name: 's2conform', mode: S_IFDIR | 0o755 });
    walk(stageProject(), '', entries, 's2conform');
    dir('usr/lib/node_modules');
    entries.push({ name: 'usr/lib/node_modules/npm', mode: S_IFDIR | 0o755 });
    walk(hostNpm(), '', entries, 'usr/lib/node_modules/npm');
    for (const b of ['npm', 'npx'])
      entries.push({ name: `usr/bin/${b}`, mode: S_IFLNK | 0o777, data: Buffer.from(`../lib/node_modules/npm/bin/${b}-cli.js`) });
  }
  // parents before children, whatever order the walk found them in
  return entries.sort((a, b) => a.name.split('/').length - b.name.split('/').length || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Writes (once) and returns the gzip'd initramfs of an image for a kernel. */
export function testVmInitramfs(image: TestVmImage, kernel: string): string {
  const entries = testVmEntries(image, kernel);
  const raw = newcArchive(entries);
  const sha = createHash('sha256').update(raw).digest('hex').slice(0, 16);
  const out = join(testVmDir(), `initramfs-${image}-${kernel}-${sha}.cpio.gz`);
  if (existsSync(out)) return out;
  mkdirSync(testVmDir(), { recursive: true, mode: 0o700 });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, gzipSync(raw, { level: 1 }), { mode: 0o600 });
  renameSync(tmp, out);
  return out;
}
