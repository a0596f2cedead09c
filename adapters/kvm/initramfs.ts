// A gzip'd newc cpio archive whose /init is the static helper, written directly (no cpio binary).
// newc: "070701", 13 fields of 8 hex digits, the NUL-terminated name, padding to 4 bytes, the data,
// padding to 4 bytes; the archive ends with an entry named "TRAILER!!!".

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface CpioEntry {
  readonly name: string;
  /** full st_mode: type bits | permissions */
  readonly mode: number;
  readonly data?: Uint8Array;
  readonly rdevMajor?: number;
  readonly rdevMinor?: number;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;
/** a symbolic link: its data is the target path */
export const S_IFLNK = 0o120000;

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`cpio field out of range: ${n}`);
  return n.toString(16).padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** The uncompressed newc archive. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  const all: CpioEntry[] = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  for (const e of all) {
    const data = e.data ?? new Uint8Array(0);
    const name = Buffer.from(`${e.name}\0`, 'utf8');
    const isTrailer = e.name === 'TRAILER!!!';
    const header =
      '070701' +
      hex8(isTrailer ? 0 : ino++) +
      hex8(e.mode) +
      hex8(0) + // uid
      hex8(0) + // gid
      hex8(isTrailer ? 1 : (e.mode & 0o170000) === S_IFDIR ? 2 : 1) +
      hex8(0) + // mtime: fixed, so the archive is reproducible
      hex8(data.length) +
      hex8(0) + // devmajor
      hex8(0) + // devminor
      hex8(e.rdevMajor ?? 0) +
      hex8(e.rdevMinor ?? 0) +
      hex8(name.length) +
      hex8(0); // check
    parts.push(Buffer.from(header, 'ascii'), name, Buffer.alloc(pad4(110 + name.length)));
    if (data.length > 0) parts.push(Buffer.from(data), Buffer.alloc(pad4(data.length)));
  }
  return Buffer.concat(parts);
}

/** A kernel module for /lib/s2c/: its file name and contents. */
export interface InitModule {
  readonly name: string;
  readonly data: Uint8Array;
}

/**
 * The entries of the helper initramfs: /init plus the mount points and /dev/console, and the
 * modules its channel needs (lib/s2c/, insmod order in lib/s2c/order: helper/init.c loads them).
 */
export function helperEntries(helper: Uint8Array, modules: readonly InitModule[] = []): CpioEntry[] {
  const mods: CpioEntry[] =
    modules.length === 0
      ? []
      : [
          { name: 'lib', mode: S_IFDIR | 0o755 },
          { name: 'lib/s2c', mode: S_IFDIR | 0o755 },
          ...modules.map((m) => ({ name: `lib/s2c/${m.name}`, mode: S_IFREG | 0o644, data: m.data })),
          { name: 'lib/s2c/order', mode: S_IFREG | 0o644, data: Buffer.from(`${modules.map((m) => m.name).join('\n')}\n`) },
        ];
  return [
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'proc', mode: S_IFDIR | 0o755 },
    { name: 'sys', mode: S_IFDIR | 0o755 },
    ...mods,
    { name: 'init', mode: S_IFREG | 0o755, data: helper },
  ];
}

/**
 * Writes (once per helper build and module set) `<dir>/initramfs-<sha>.cpio.gz` and returns its path.
 * The name carries the sha256 of the helper and the modules, so a rebuilt helper gets a new initramfs.
 */
export function writeHelperInitramfs(helperPath: string, dir: string, modulePaths: readonly string[] = []): string {
  const helper = readFileSync(helperPath);
  const modules = modulePaths.map((p) => ({ name: basename(p), data: readFileSync(p) }));
  const h = createHash('sha256').update(helper);
  for (const m of modules) h.update(m.name).update(m.data);
  const sha = h.digest('hex').slice(0, 16);
  const out = join(dir, `initramfs-${sha}.cpio.gz`);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const gz = gzipSync(newcArchive(helperEntries(helper, modules)), { level: 6 });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, gz, { mode: 0o600 }); // private: only this user's QEMU reads it
  renameSync(tmp, out);
  return out;
}
