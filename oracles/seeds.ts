// The seed threads the rules cite (../shared/seeds/, one file each): the thread's title and the
// list it was posted to, as far as the file gives them (001 carries no subject line; 000 and 004
// name their list but not its address; 003's address is its Message-ID on lore). A rule cites a
// seed as `seed NNN "title" list`; the timeline's cites (profiles.ts) are built with seed().

export const SEEDS = {
  '000': { title: "[PATCH] KVM: arm64: Cap default IPA size to the host's own size", list: '(linux-arm-kernel)' },
  '001': { title: undefined, list: 'lists.cs.columbia.edu/mailman/listinfo/kvmarm' },
  '002': {
    title: '[PATCH v3 15/20] kvm: arm/arm64: Allow tuning the physical address size for VM',
    list: 'lists.openwall.net (linux-kernel)',
  },
  '003': {
    title: '[PATCH 4/4] arm64: mte: Use stage-2 NoTagAccess memory attribute if supported',
    list: 'lore.kernel.org/r/87jzdst6os.wl-maz@kernel.org',
  },
  '004': { title: '[PATCH v2] KVM: arm64: Inject exception on out-of-IPA-range translation fault', list: '(linux-arm-kernel)' },
} as const;

export type SeedId = keyof typeof SEEDS;

/** The citation of a seed: `seed NNN "title" list`. */
export function seed(n: SeedId): string {
  const s: { readonly title: string | undefined; readonly list: string } = SEEDS[n];
  return `seed ${n}${s.title === undefined ? '' : ` "${s.title}"`} ${s.list}`;
}
