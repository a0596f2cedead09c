// The test VM's Debian arm64 packages (fixtures/testvm.json) as typed data: each image's root
// packages and the pinned dependency closure `npm run testvm -- --lock` resolved from the archive.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../core/paths.ts';

/** ssh: busybox and dropbear (the ssh: target's remote); node: the same plus Debian's nodejs (native). */
export const TESTVM_IMAGES = ['ssh', 'node'] as const;
export type TestVmImage = (typeof TESTVM_IMAGES)[number];

export interface TestVmPackage {
  readonly package: string;
  readonly version: string;
  /** arm64, or all (architecture-independent: apt names it without an architecture) */
  readonly architecture: 'arm64' | 'all';
  readonly sha256: string;
  /** the archive path, as the index names it (pool/main/…) */
  readonly filename: string;
  readonly size: number;
  /** the images that carry it */
  readonly images: readonly TestVmImage[];
}

export interface TestVmPins {
  readonly suite: string;
  readonly arch: 'arm64';
  readonly roots: Readonly<Record<TestVmImage, readonly string[]>>;
  readonly packages: readonly TestVmPackage[];
}

export const TESTVM_PINS_FILE = join(REPO_ROOT, 'fixtures', 'testvm.json');

export function testVmPins(file = TESTVM_PINS_FILE): TestVmPins {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as TestVmPins;
  for (const p of raw.packages)
    if (!/^[0-9a-f]{64}$/.test(p.sha256) || !p.filename.startsWith('pool/')) throw new Error(`${file}: bad pin for ${p.package}`);
  return raw;
}

export function packagesOf(pins: TestVmPins, image: TestVmImage): readonly TestVmPackage[] {
  return pins.packages.filter((p) => p.images.includes(image));
}
