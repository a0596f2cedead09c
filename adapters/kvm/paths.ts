// Where the adapter finds what `npm run provision` made: the kernel cache and the helper build.

import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isPathRef } from '../spec.ts';
import { fileURLToPath } from 'node:url';

export const KVM_DIR = dirname(fileURLToPath(import.meta.url));
/** The helper `npm run provision` builds; S2CONFORM_HELPER names another build of it (e.g. one made on an arm64 box). */
export const BUILT_HELPER = join(KVM_DIR, 'helper', 'build', 's2c-helper');
export const HELPER_PATH = process.env['S2CONFORM_HELPER'] ?? BUILT_HELPER;

/** A kernel is named by its fixtures/kernels.json entry, or given as a path to an image the user built. */
export type KernelRef = string;

export function cacheDir(): string {
  return process.env['S2CONFORM_CACHE'] ?? join(homedir(), '.cache', 's2conform');
}

/** Where the kernel came from: pinned Debian packages, or a file the user named. */
export type KernelSource =
  | {
      readonly kind: 'debian';
      readonly suite: string;
      readonly packages: readonly { readonly package: string; readonly version: string; readonly sha256: string }[];
    }
  | { readonly kind: 'path'; readonly path: string; readonly sha256: string };

export interface KernelInfo {
  /** the kernels.json name, or the path as given */
  readonly name: string;
  readonly vmlinuz: string;
  readonly source: KernelSource;
  /** the upstream release the package builds ("5.10.223"), when known before boot */
  readonly stable: string | undefined;
  /** CONFIG_FOO → "y" | "m" | "48" ...; empty when the kernel came without a config */
  readonly config: ReadonlyMap<string, string>;
  /** where the config was read from, if anywhere */
  readonly configFile: string | undefined;
  /** true when --allow-newer replaced a pinned package */
  readonly newerThanPin: boolean;
  /** the virtio console's modules, in insmod order, where the kernel builds it as a module (the initramfs loads them) */
  readonly consoleModules?: readonly string[];
}

/** The modules the helper's channel (the virtio console on virtio-pci) needs, for kernels that build them as modules. */
export const CONSOLE_MODULES = ['virtio_pci', 'virtio_console'] as const;

/** The kernel builds the virtio console or virtio-pci as a module (5.10 and 6.1 in Debian): its initramfs must load them. */
export function consoleIsModular(config: ReadonlyMap<string, string>): boolean {
  return config.get('CONFIG_VIRTIO_CONSOLE') === 'm' || config.get('CONFIG_VIRTIO_PCI') === 'm';
}

export function parseConfig(text: string): Map<string, string> {
  const cfg = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m && m[1] !== undefined && m[2] !== undefined) cfg.set(m[1], m[2].replace(/^"|"$/g, ''));
  }
  return cfg;
}

export const KERNEL_MARKER = '.s2conform-kernel.json';

export interface KernelMarker {
  readonly name: string;
  readonly suite: string;
  readonly stable: string;
  /** what fixtures/kernels.json pinned when this was unpacked */
  readonly pinned: readonly { readonly package: string; readonly version: string }[];
  /** what was actually unpacked */
  readonly packages: readonly { readonly package: string; readonly version: string; readonly sha256: string }[];
  readonly vmlinuz: string;
  /** its size when unpacked (markers written before this field lack it) */
  readonly vmlinuzBytes?: number;
  readonly config: string | null;
  readonly newerThanPin: boolean;
  /** the virtio console's modules (consoleIsModular), relative, in insmod order; absent in markers written before them */
  readonly consoleModules?: readonly string[];
}

/** The unpacked kernel (by name) or the image at a path, or a reason it cannot be used. */
export function findKernel(ref: KernelRef, configFile?: string): KernelInfo | string {
  return isPathRef(ref) ? kernelAtPath(ref, configFile) : cachedKernel(ref);
}

function cachedKernel(name: string): KernelInfo | string {
  const dir = join(cacheDir(), 'kernels', name);
  const marker = join(dir, KERNEL_MARKER);
  if (!existsSync(marker)) return `kernel ${name} is not provisioned (no ${marker}): run \`npm run provision -- --kernels ${name}\``;
  let m: KernelMarker;
  try {
    m = JSON.parse(readFileSync(marker, 'utf8')) as KernelMarker;
  } catch {
    return `kernel ${name}: ${marker} is corrupt: run \`npm run provision -- --kernels ${name}\``;
  }
  const vmlinuz = join(dir, m.vmlinuz);
  if (!existsSync(vmlinuz)) return `kernel ${name}: ${vmlinuz} is missing: run \`npm run provision -- --kernels ${name}\``;
  const bytes = statSync(vmlinuz).size;
  const bad =
    m.vmlinuzBytes !== undefined && m.vmlinuzBytes !== bytes
      ? `is ${bytes} bytes, ${m.vmlinuzBytes} when unpacked (truncated or replaced)`
      : imageProblem(vmlinuz);
  if (bad) return `kernel ${name}: ${vmlinuz} ${bad}: run \`npm run provision -- --kernels ${name}\``;
  const configFile = m.config ? join(dir, m.config) : undefined;
  if (configFile && !existsSync(configFile))
    return `kernel ${name}: ${configFile} is missing: run \`npm run provision -- --kernels ${name}\``;
  return {
    name,
    vmlinuz,
    source: { kind: 'debian', suite: m.suite, packages: m.packages },
    stable: m.newerThanPin ? undefined : m.stable,
    config: configFile ? parseConfig(readFileSync(configFile, 'utf8')) : new Map(),
    configFile,
    newerThanPin: m.newerThanPin,
    ...(m.consoleModules?.every((f) => existsSync(join(dir, f))) ? { consoleModules: m.consoleModules.map((f) => join(dir, f)) } : {}),
  };
}

/** A config for an image the user built: beside it, or at the top of the tree it was built in. */
function configBeside(image: string): string | undefined {
  const d = dirname(image);
  const base = basename(image);
  const candidates = [
    join(d, base.replace(/^(vmlinuz|Image)/, 'config')),
    join(d, '.config'),
    join(d, 'config'),
    resolve(d, '..', '..', '..', '.config'), // <tree>/arch/arm64/boot/Image
  ];
  return candidates.find((c) => c !== image && existsSync(c));
}

function kernelAtPath(ref: string, configFile: string | undefined): KernelInfo | string {
  const path = resolve(ref.startsWith('~/') ? join(homedir(), ref.slice(2)) : ref);
  if (!existsSync(path)) return `kernel image ${path} does not exist`;
  const bad = imageProblem(path);
  if (bad) return `kernel image ${path} ${bad}`;
  const cfg = configFile ?? configBeside(path);
  if (configFile && !existsSync(configFile)) return `kernel config ${configFile} does not exist`;
  return {
    name: ref,
    vmlinuz: path,
    source: { kind: 'path', path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') },
    stable: undefined,
    config: cfg ? parseConfig(readFileSync(cfg, 'utf8')) : new Map(),
    configFile: cfg,
    newerThanPin: false,
  };
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** arm64 Image header magic "ARM\x64" at offset 0x38 (Documentation/arch/arm64/booting.rst). */
const ARM64_IMAGE_MAGIC = 0x644d5241;

/**
 * Why a file cannot be an arm64 kernel image QEMU boots, or undefined: the Image header's magic, and
 * for an EFI-stub Image (every Debian kernel) that its PE sections end inside the file, which catches
 * a truncated download or copy. A gzip-compressed Image (QEMU unpacks it) passes unchecked.
 */
export function imageProblem(path: string): string | undefined {
  const size = statSync(path).size;
  const h = readHead(path, 4096);
  if (h.length >= 2 && h[0] === 0x1f && h[1] === 0x8b) return undefined;
  if (h.length < 64 || h.readUInt32LE(0x38) !== ARM64_IMAGE_MAGIC) {
    return `is not an arm64 kernel Image (${size} bytes, no "ARM\\x64" magic at offset 0x38)`;
  }
  if (h[0] !== 0x4d || h[1] !== 0x5a) return undefined; // no EFI stub: nothing more to check
  const pe = h.readUInt32LE(0x3c);
  if (pe + 24 > h.length || h.readUInt32LE(pe) !== 0x00004550) return `has a broken PE header (${size} bytes)`;
  const sections = h.readUInt16LE(pe + 6);
  const table = pe + 24 + h.readUInt16LE(pe + 20);
  let end = 0;
  for (let i = 0; i < sections && table + 40 * (i + 1) <= h.length; i++) {
    const at = table + 40 * i;
    end = Math.max(end, h.readUInt32LE(at + 20) + h.readUInt32LE(at + 16)); // PointerToRawData + SizeOfRawData
  }
  return end > size ? `is truncated: its PE sections end at byte ${end}, the file has ${size}` : undefined;
}

const EM_AARCH64 = 183;

/** Why the helper binary cannot run in an arm64 guest (missing, not ELF, built for another machine), or undefined. */
export function helperProblem(path: string = HELPER_PATH): string | undefined {
  const repair = path === BUILT_HELPER ? 'run `npm run provision -- --helper-only`' : 'rebuild it, or unset S2CONFORM_HELPER';
  if (!existsSync(path)) return `helper not built (${path}): ${repair}`;
  const h = readHead(path, 64);
  if (h.length < 20 || h.readUInt32BE(0) !== 0x7f454c46) return `helper ${path} is not an ELF binary: ${repair}`;
  const machine = h.readUInt16LE(18);
  if (h[4] !== 2 || machine !== EM_AARCH64) {
    const names: Record<number, string> = { 3: 'i386', 40: 'arm', 62: 'x86-64', 243: 'riscv' };
    return `helper ${path} is built for ${names[machine] ?? `ELF machine ${machine}`}, not aarch64: ${repair}`;
  }
  return undefined;
}

export const EMULATOR_MARKER = '.s2conform-qemu.json';

export interface EmulatorInfo {
  /** the emulators.json name, or the path as given */
  readonly name: string;
  readonly binary: string;
  readonly packages?: readonly { readonly package: string; readonly version: string; readonly sha256: string }[];
}

/** The provisioned emulator of that name (fixtures/emulators.json), or a QEMU binary at a path. */
export function findEmulator(ref: string): EmulatorInfo | string {
  if (ref.includes('/')) {
    const binary = resolve(ref);
    return existsSync(binary) ? { name: ref, binary } : `QEMU binary ${binary} does not exist`;
  }
  const dir = join(cacheDir(), 'qemu', ref);
  const marker = join(dir, EMULATOR_MARKER);
  if (!existsSync(marker)) return `emulator QEMU ${ref} is not provisioned (no ${marker}): run \`npm run provision -- --qemu ${ref}\``;
  let m: { binary: string; packages: EmulatorInfo['packages'] };
  try {
    m = JSON.parse(readFileSync(marker, 'utf8')) as typeof m;
  } catch {
    return `emulator QEMU ${ref}: ${marker} is corrupt: run \`npm run provision -- --qemu ${ref}\``;
  }
  const binary = join(dir, m.binary);
  if (!existsSync(binary)) return `emulator QEMU ${ref}: ${binary} is missing: run \`npm run provision -- --qemu ${ref}\``;
  return { name: ref, binary, ...(m.packages ? { packages: m.packages } : {}) };
}

/** Why the QEMU targets cannot run here, or undefined when kernels and helper are provisioned. */
export function notProvisioned(kernels: readonly KernelRef[] = ['6.1', '6.12']): string | undefined {
  const helper = helperProblem();
  if (helper) return helper;
  for (const k of kernels) {
    const r = findKernel(k);
    if (typeof r === 'string') return r;
  }
  return undefined;
}

/** The page size a kernel's config builds it with (CONFIG_ARM64_{4K,16K,64K}_PAGES); undefined without one. */
export function configPageSize(config: ReadonlyMap<string, string>): number | undefined {
  for (const [opt, bytes] of [
    ['CONFIG_ARM64_4K_PAGES', 4096],
    ['CONFIG_ARM64_16K_PAGES', 16384],
    ['CONFIG_ARM64_64K_PAGES', 65536],
  ] as const)
    if (config.get(opt) === 'y') return bytes;
  return undefined;
}
