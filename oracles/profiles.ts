// Profiles are data: a kernel version is the fold of every rule change up to
// it on one timeline; a proposal from a seed is a base version plus overrides.
// A rule function reads only the variant its profile selects.

import type { Profile, Rules } from '../core/profile.ts';
import { seed } from './seeds.ts';

export type { Profile, Rules } from '../core/profile.ts';

/** A stable series that carries a change, from its first release that does (e.g. 5.10.24). */
export interface Backport {
  readonly series: readonly [number, number];
  readonly from: number;
  /** where the backport was checked: the stable release mail or the tree of that release */
  readonly evidence: string;
}

export interface Change {
  readonly version: readonly [number, number];
  readonly rules: Partial<Rules>;
  /** seed and upstream commit */
  readonly cite: string;
  /** stable series that carry this change before the release it landed in (docs/kernel/stable-backports.md) */
  readonly backports?: readonly Backport[];
}

// The first release: every rule has a variant here, so a rule added to Rules without one is a compile error.
const FIRST_RELEASE: Change & { readonly rules: Rules } = {
  version: [4, 20],
  rules: {
    ipaLimit: 'clamp-v4.20',
    defaultIpa: 'accept-misprogrammed',
    protectedForcesLimit: false,
    memslotBound: 'inclusive-bug',
    memslotIds: 512,
    outOfRange: 'mmio',
    linear52: 'half',
    idmapBits: 'va-bits',
    linearCap51: false,
    hypVaBits: 'idmap',
    hypLayout52: 'tagged',
    mteCap: false,
    mteVma: 'refuse-shared',
    mteHugetlb: false,
    mteNoTagAccess: false,
  },
  cite: `${seed('002')}; 233a7cb23531 kvm: arm64: Allow tuning the physical address size for VM`,
};

/** KVM_CAP_ARM_VM_IPA_SIZE and the first rules: nothing is encoded before it. */
const FIRST: readonly [number, number] = FIRST_RELEASE.version;

// The timeline: each entry is what changed in that release.
const TIMELINE: readonly Change[] = [
  FIRST_RELEASE,

  {
    version: [5, 10],
    rules: { ipaLimit: 'unclamped' },
    cite: `${seed('000')}; c9b69a0cf0b4 KVM: arm64: Don't constrain maximum IPA size based on host configuration`,
  },
  {
    version: [5, 11],
    rules: { linear52: 'extended' },
    cite: `${seed('001')}; f4693c2716b3 arm64: mm: extend linear region for 52-bit VA configurations`,
  },
  {
    version: [5, 12],
    rules: { defaultIpa: 'reject' },
    cite: `${seed('000')}; 7d717558dd5e KVM: arm64: Reject VM creation when the default IPA size is unsupported`,
    backports: [
      { series: [5, 4], from: 106, evidence: '[PATCH 5.4] stable review, "commit 7d717558dd5e upstream"' },
      {
        series: [5, 10],
        from: 24,
        evidence: 'ChangeLog-5.10.24 (Debian linux-source-5.10 changelog); reset.c:444 of 5.10.223 returns -EINVAL',
      },
      { series: [5, 11], from: 7, evidence: '5.11.7-rc1 stable review' },
    ],
  },
  {
    version: [5, 12],
    rules: { memslotBound: 'exclusive' },
    cite: `${seed('000')}; 262b003d059c KVM: arm64: Fix exclusive limit for IPA size`,
    backports: [
      { series: [5, 4], from: 106, evidence: '[PATCH 5.4 161/168] "commit 262b003d059c upstream"' },
      {
        series: [5, 10],
        from: 24,
        evidence: 'ChangeLog-5.10.24; mmu.c:1312 of 5.10.223 compares with > against kvm_phys_size >> PAGE_SHIFT',
      },
      { series: [5, 11], from: 7, evidence: '5.11.7-rc1 stable review' },
    ],
  },
  {
    version: [5, 12],
    rules: { memslotIds: 32767 },
    cite: '4fc096a99e01 KVM: Raise the maximum number of user memslots (KVM_USER_MEM_SLOTS = SHRT_MAX; not in 5.10.y: 5.10.262 still has 512)',
  },
  {
    version: [5, 12],
    rules: { idmapBits: 'min48' },
    cite: `${seed('001')}; 7ba8f2b2d652 arm64: mm: use a 48-bit ID map when possible on 52-bit VA builds`,
  },
  {
    version: [5, 15],
    rules: { ipaLimit: 'cap48-4k16k' },
    cite: '5e5df9571c31 KVM: arm64: Restrict IPA size to maximum 48 bits on 4K and 16K page size',
    backports: [
      {
        series: [5, 10],
        from: 68,
        evidence: '[PATCH 5.10 086/122] (AUTOSEL); ChangeLog-5.10.68; reset.c:379 of 5.10.223 caps at 48 bits when PAGE_SIZE != SZ_64K',
      },
      { series: [5, 14], from: 7, evidence: '5.14.7-rc1 stable review' },
    ],
  },
  {
    version: [5, 15],
    rules: { linearCap51: true },
    cite: `${seed('001')}; 88053ec8cb1b arm64: mm: limit linear region to 51 bits for KVM in nVHE mode (v5.15-rc1)`,
  },
  {
    version: [5, 18],
    rules: { outOfRange: 'split' },
    cite: `${seed('004')}; 85ea6b1ec915 KVM: arm64: Inject exception on out-of-IPA-range translation fault`,
  },
  {
    version: [5, 14],
    rules: { mteCap: true, mteVma: 'refuse-shared' },
    cite: `${seed('003')}; ea7fc1bb1cd1 KVM: arm64: Introduce MTE VM feature (VM_SHARED refused at memslot and fault time)`,
  },
  {
    version: [6, 2],
    rules: { mteVma: 'refuse-not-mte-allowed' },
    cite: `${seed('003')}; d89585fbb308 unify the tests for VMAs in memslots; c911f0d46879 permit all VM_MTE_ALLOWED mappings`,
  },
  {
    version: [6, 13],
    rules: { mteHugetlb: true },
    cite: `${seed('003')}; 25c17c4b55de hugetlb: arm64: add mte support (hugetlbfs_file_mmap sets VM_MTE_ALLOWED)`,
  },
  {
    version: [6, 2],
    rules: { protectedForcesLimit: true },
    cite: '60dfe093ec13 KVM: arm64: Instantiate guest stage-2 page-tables at EL2 (pKVM: protected mode sizes VMs at the limit)',
  },
  {
    version: [6, 2],
    rules: { hypVaBits: 'max-idmap-va' },
    cite: `${seed('001')}; 579d7ebe90a3 KVM: arm64: Fix kvm init failure when mode!=vhe and VA_BITS=52 (kvmarm next for 6.2)`,
  },
  {
    version: [6, 8],
    rules: { ipaLimit: 'lpa2', outOfRange: 'split-wrong-class' },
    cite: 'd782ac5b2cee LPA2 lifts the 48-bit cap; 11e5ea5242e3 regresses the out-of-range check',
  },
  {
    version: [6, 9],
    rules: { outOfRange: 'split' },
    cite: 'f5fe0adeed60 KVM: arm64: Fix out-of-IPA space translation fault handling',
    backports: [{ series: [6, 8], from: 5, evidence: '6.8-stable review; in the stable list that ends "Linux 6.8.5"' }],
  },
];

// The fold below reads the changes in version order, whatever order they are written in.
const ORDERED: readonly Change[] = [...TIMELINE].sort((x, y) => cmp(x.version, y.version));

const MAINLINE: readonly [number, number] = [6, 18];

/** Versions worth naming: every change point (from the timeline) plus the LTS releases targets run. */
const LTS: readonly (readonly [number, number])[] = [
  [5, 4],
  [5, 10],
  [5, 15],
  [5, 17],
  [6, 1],
  [6, 6],
  [6, 12],
];
const NAMED_VERSIONS: readonly (readonly [number, number])[] = [...ORDERED.map((c) => c.version), ...LTS]
  .filter((v, i, all) => all.findIndex((w) => cmp(v, w) === 0) === i)
  .sort(cmp);

function cmp(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The backport of a later change that a stable release carries, if it does. */
function carried(c: Change, version: readonly [number, number], sublevel: number | undefined): Backport | undefined {
  if (sublevel === undefined || cmp(c.version, version) <= 0) return undefined;
  return c.backports?.find((b) => cmp(b.series, version) === 0 && sublevel >= b.from);
}

/** The rules of a release: every change up to its version, plus the backports its stable sublevel carries. */
export function rulesAt(version: readonly [number, number], sublevel?: number): Rules {
  if (cmp(version, FIRST) < 0) throw new Error(`no rules before v4.20 (asked v${version.join('.')})`);
  let r: Rules = FIRST_RELEASE.rules;
  for (const c of ORDERED)
    if (c !== FIRST_RELEASE && (cmp(c.version, version) <= 0 || carried(c, version, sublevel))) r = { ...r, ...c.rules };
  return r;
}

/** What a stable release carries beyond its series' first release: the backported changes, in order. */
export function backportsAt(
  version: readonly [number, number],
  sublevel: number,
): { readonly change: Change; readonly backport: Backport }[] {
  return ORDERED.flatMap((c) => {
    const b = carried(c, version, sublevel);
    return b ? [{ change: c, backport: b }] : [];
  });
}

function versionProfile(name: string, v: readonly [number, number], source: string): Profile {
  return { name, version: v, source, ...rulesAt(v) };
}

const PROFILES = new Map<string, Profile>();
for (const v of NAMED_VERSIONS) PROFILES.set(`v${v[0]}.${v[1]}`, versionProfile(`v${v[0]}.${v[1]}`, v, 'kernel version'));
PROFILES.set('mainline', versionProfile('mainline', MAINLINE, 'newest kernel this suite encodes'));
PROFILES.set('pre-5.12', versionProfile('pre-5.12', [5, 11], 'v5.11: before 7d717558dd5e and 262b003d059c'));
PROFILES.set('pre-5.18', versionProfile('pre-5.18', [5, 17], 'v5.17: before 85ea6b1ec915'));
PROFILES.set('v6.8-regression', versionProfile('v6.8-regression', [6, 8], '11e5ea5242e3, fixed by f5fe0adeed60'));

// Proposals: the version they were posted against plus what they changed.
PROFILES.set('seed-000-v1', {
  ...rulesAt([5, 12]),
  defaultIpa: 'cap-to-limit',
  name: 'seed-000-v1',
  source: "seed 000: [PATCH] KVM: arm64: Cap default IPA size to the host's own size (v1, not merged)",
});
PROFILES.set('seed-004-v1', {
  ...rulesAt([5, 18]),
  outOfRange: 'asf-beyond-ipa',
  name: 'seed-004-v1',
  source: 'seed 004: v1 of "Inject exception on out-of-IPA-range translation fault" (address size fault beyond N)',
});

PROFILES.set('seed-001-v1', {
  ...rulesAt([5, 12]),
  hypLayout52: 'low-window-48',
  // the proposal lays EL2 out over all 2^52 bytes, so it is taken to program TCR_EL2 for 52 bits
  hypVaBits: 'max-idmap-va',
  name: 'seed-001-v1',
  source:
    'seed 001: [PATCH] arm64: kvm: handle 52-bit VA regions correctly under nVHE (ID map and private VA in [0, 2^48), linear region above; not merged)',
});

PROFILES.set('seed-003-notagaccess', {
  ...rulesAt(MAINLINE),
  mteNoTagAccess: true,
  name: 'seed-003-notagaccess',
  source: 'seed 003: [PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported (Oct 2024, not merged)',
});

export function profileNames(): string[] {
  return [...PROFILES.keys()];
}

/** The --profile grammar beyond the names above (for --help). */
export const PROFILE_GRAMMAR =
  'v<major>.<minor> (that release as it left mainline), v<major>.<minor>.<sublevel> (a stable release: the series plus the backports it carries), v<major>.<minor>+stable (the series with every backport listed)';

const STABLE_NAME = /^v(\d+)\.(\d+)(?:\.(\d+)|(\+stable))?$/;

/** A named profile, or one built from a version name: v5.10, v5.10.223, v5.10+stable. */
export function getProfile(name: string): Profile | undefined {
  const named = PROFILES.get(name);
  if (named) return named;
  const m = STABLE_NAME.exec(name);
  if (!m) return undefined;
  const v: [number, number] = [Number(m[1]), Number(m[2])];
  if (cmp(v, FIRST) < 0 || cmp(v, MAINLINE) > 0) return undefined; // nothing is encoded outside [v4.20, mainline]
  if (m[3] === undefined && m[4] === undefined) return versionProfile(name, v, 'kernel version');
  return stableProfile(v, m[4] !== undefined ? Number.MAX_SAFE_INTEGER : Number(m[3]), name);
}

function stableProfile(v: readonly [number, number], sublevel: number, name = `v${v[0]}.${v[1]}.${sublevel}`): Profile {
  const carriedHere = backportsAt(v, sublevel);
  const source =
    carriedHere.length === 0
      ? `kernel version v${v[0]}.${v[1]} (no backport encoded for this stable release)`
      : `v${v[0]}.${v[1]} plus stable backports: ${carriedHere.map((b) => `${b.change.cite.match(/\b[0-9a-f]{12}\b/)?.[0] ?? '?'} (${b.backport.series.join('.')}.${b.backport.from})`).join(', ')}`;
  return { name, version: v, source, ...rulesAt(v, sublevel) };
}

/**
 * --profile auto: the profile of the release's own version (the timeline folded at it) and, where
 * the upstream stable release is known ("5.10.223", from /proc/version), the backports it carries.
 */
export function profileForRelease(release: string, stable?: string): Profile | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return undefined;
  const v: [number, number] = [Number(m[1]), Number(m[2])];
  if (cmp(v, MAINLINE) >= 0) return PROFILES.get('mainline');
  if (cmp(v, FIRST) < 0) return undefined;
  const s = stable === undefined ? undefined : /^(\d+)\.(\d+)\.(\d+)/.exec(stable);
  if (s && Number(s[1]) === v[0] && Number(s[2]) === v[1]) return stableProfile(v, Number(s[3]));
  const name = `v${v[0]}.${v[1]}`;
  return PROFILES.get(name) ?? versionProfile(name, v, 'kernel version');
}

/** The timeline as data, for the provenance checks (tests/provenance.test.ts). */
export function timeline(): readonly Change[] {
  return TIMELINE;
}
