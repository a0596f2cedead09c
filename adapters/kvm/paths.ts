// Where the adapter finds what `npm run provision` made: the kernel cache and the helper build.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isPathRef } from '../spec.ts';
import { fileURLToPath } from 'node:url';

export const KVM_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(KVM_DIR, '..', '..');
export const HELPER_PATH = join(KVM_DIR, 'helper', 'build', 's2c-helper');

/** A kernel is named by its fixtures/kernels.json entry, or given as a path to an image the user built. */
export type KernelRef = string;

export function cacheDir(): string {
  return process.env['S2CONFORM_CACHE'] ?? join(homedir(), '.cache', 's2conform');
}

/** Where the kernel came from: pinned Debian packages, or a file the user named. */
export type KernelSource =
  | { readonly kind: 'debian'; readonly suite: string; readonly packages: readonly { readonly package: string; readonly version: string; readonly sha256: string }[] }
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
  readonly config: string | null;
  readonly newerThanPin: boolean;
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
  const configFile = m.config ? join(dir, m.config) : undefined;
  if (configFile && !existsSync(configFile)) return `kernel ${name}: ${configFile} is missing: run \`npm run provision -- --kernels ${name}\``;
  return {
    name,
    vmlinuz,
    source: { kind: 'debian', suite: m.suite, packages: m.packages },
    stable: m.newerThanPin ? undefined : m.stable,
    config: configFile ? parseConfig(readFileSync(configFile, 'utf8')) : new Map(),
    configFile,
    newerThanPin: m.newerThanPin,
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
  const m = JSON.parse(readFileSync(marker, 'utf8')) as { binary: string; packages: EmulatorInfo['packages'] };
  const binary = join(dir, m.binary);
  if (!existsSync(binary)) return `emulator QEMU ${ref}: ${binary} is missing: run \`npm run provision -- --qemu ${ref}\``;
  return { name: ref, binary, ...(m.packages ? { packages: m.packages } : {}) };
}

/** Why the QEMU targets cannot run here, or undefined when kernels and helper are provisioned. */
export function notProvisioned(kernels: readonly KernelRef[] = ['6.1', '6.12']): string | undefined {
  if (!existsSync(HELPER_PATH)) return `helper not built (${HELPER_PATH}): run \`npm run provision\``;
  for (const k of kernels) {
    const r = findKernel(k);
    if (typeof r === 'string') return r;
  }
  return undefined;
}
