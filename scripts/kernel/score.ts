// The mutation score of the suite against KVM itself (docs/mutants.md): single-token mutants
// (scripts/kernel/tokens.ts) of the code the suite claims to cover, each built into the tree, booted
// and run against the families that cover it. Survivors are listed; an explanation for one lives in
// fixtures/kernel-mutants/score-notes.json (equivalent, or not observable under QEMU, and why).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../core/paths.ts';
import type { Family } from '../../core/property.ts';
import type { PropertyResult, Summary } from '../../core/result.ts';
import { regionMutants, type Region, type TokenMutant } from './tokens.ts';
import { buildImage, keepImage, withFileText, type Tree } from './tree.ts';

export interface ScoredRegion extends Region {
  readonly file: string;
  readonly families: readonly Family[];
  /** qemu: spec parts tried in order until one kills */
  readonly targets: readonly string[];
}

/**
 * What the suite claims to cover, in the order the score runs them.
 * Targets: max (VHE, 52-bit LPA2), max,protected (pKVM forces the limit), cortex-a76 (VHE, PARange 40: the
 * default 40-bit type sits exactly at its limit), cortex-a72 (nVHE, 44-bit: fast VM teardown on 7.x, F5),
 * neoverse-n1 (VHE, 48-bit).
 */
export const REGIONS: readonly ScoredRegion[] = [
  {
    name: 'kvm_init_ipa_range',
    file: 'arch/arm64/kvm/mmu.c',
    start: 'static int kvm_init_ipa_range(',
    end: '\tmmfr0 = read_sanitised_ftr_reg',
    families: ['vm-create'],
    targets: ['max', 'max,protected', 'cortex-a76'],
  },
  {
    name: 'kvm_set_ipa_limit',
    file: 'arch/arm64/kvm/reset.c',
    start: 'int __init kvm_set_ipa_limit(void)',
    end: '\treturn 0;\n}',
    families: ['vm-create'],
    targets: ['max', 'cortex-a72'],
  },
  {
    name: 'kvm_arch_prepare_memory_region',
    file: 'arch/arm64/kvm/mmu.c',
    start: '\tif (change != KVM_MR_CREATE && change != KVM_MR_MOVE &&',
    end: '\t/*\n\t * Only support guest_memfd',
    families: ['memslot'],
    targets: ['cortex-a72'],
  },
  {
    name: 'kvm_handle_guest_abort',
    file: 'arch/arm64/kvm/mmu.c',
    start: '\tis_iabt = kvm_vcpu_trap_is_iabt(vcpu);\n\n\tif (esr_fsc_is_translation_fault(esr)) {',
    end: '\ttrace_kvm_guest_fault(',
    families: ['abort'],
    targets: ['cortex-a72'],
  },
  {
    name: 'kvm_inject_size_fault',
    file: 'arch/arm64/kvm/inject_fault.c',
    start: 'void kvm_inject_size_fault(struct kvm_vcpu *vcpu)',
    end: '\n}\n',
    families: ['abort'],
    targets: ['cortex-a72'],
  },
  {
    name: 'inject_abt64',
    file: 'arch/arm64/kvm/inject_fault.c',
    start: 'static void inject_abt64(',
    end: '\n}\n',
    families: ['abort'],
    targets: ['cortex-a72'],
  },
  {
    name: '__get_fault_info',
    file: 'arch/arm64/kvm/hyp/include/hyp/fault.h',
    start: 'static inline bool __get_fault_info(',
    end: '\n}\n',
    families: ['abort'],
    targets: ['cortex-a72', 'neoverse-n1'],
  },
];

/** A run of one family on one mutant: the unmutated build takes under a minute for each. */
const SCORE_TIMEOUT_MIN = 4;

export const NOTES_FILE = join(REPO_ROOT, 'fixtures', 'kernel-mutants', 'score-notes.json');

type Verdict = 'killed' | 'survived' | 'did not build' | 'equivalent';

export interface ScoreRow {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly verdict: Verdict;
  readonly killer?: string;
  readonly target?: string;
  readonly note?: string;
}

export interface ScoreOptions {
  readonly runs: number;
  readonly seed: number;
  readonly out: string;
  readonly log: (s: string) => void;
  readonly runOn: (
    image: string,
    target: string,
    families: readonly Family[],
    report: string,
    timeoutMin?: number,
  ) => Promise<{
    summary: Summary | undefined;
    killer: PropertyResult | undefined;
    exit: number;
    spec: string;
    timedOut: boolean;
    stderr: string;
  }>;
  /** stop starting new mutants after this many minutes (the rest are listed as not run) */
  readonly budgetMin?: number;
  /** run only the mutants whose id matches (the others keep their stored result) */
  readonly match?: RegExp;
}

export function allTokenMutants(tree: Tree): { region: ScoredRegion; m: TokenMutant }[] {
  return REGIONS.flatMap((region) => regionMutants(readFileSync(join(tree.src, region.file), 'utf8'), region).map((m) => ({ region, m })));
}

export async function scoreMutants(tree: Tree, o: ScoreOptions): Promise<{ lines: string[]; unexplained: number }> {
  const notes = existsSync(NOTES_FILE)
    ? (JSON.parse(readFileSync(NOTES_FILE, 'utf8')) as Record<string, { verdict: 'equivalent' | 'survivor'; why: string }>)
    : {};
  const todo = allTokenMutants(tree);
  // results are kept by id (reports/kernel-mutants/score.json): a later invocation with --score-match redoes
  // some, a budget cut leaves the rest for the next night; the table covers every stored result
  const resultsFile = join(o.out, 'score.json');
  const stored = new Map<string, ScoreRow>(
    existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as ScoreRow[]).map((r) => [r.id, r]) : [],
  );
  const save = () => writeFileSync(resultsFile, JSON.stringify([...stored.values()], null, 1));
  const t0 = performance.now();
  for (const [i, { region, m }] of todo.entries()) {
    const base = { id: m.id, file: region.file, line: m.line };
    if (o.match ? !o.match.test(m.id) : stored.has(m.id)) continue;
    if ((o.budgetMin ?? Infinity) * 60_000 < performance.now() - t0) break;
    o.log(`score ${i + 1}/${todo.length}: ${m.id}`);
    const built = await withFileText(tree, region.file, m.text, async () => {
      const b = await buildImage(tree);
      return b.ok ? keepImage(tree, 'token-mutant') : undefined;
    });
    if (!built) {
      stored.set(m.id, { ...base, verdict: 'did not build' });
      save();
      continue;
    }
    let row: ScoreRow | undefined;
    for (const t of region.targets) {
      const r = await o.runOn(built, t, region.families, join(o.out, 'score', 'last'), SCORE_TIMEOUT_MIN);
      if (r.timedOut) {
        // the unmutated build finishes these families in well under a minute: the mutant hung the run
        row = { ...base, verdict: 'killed', killer: `run hung (no result in ${SCORE_TIMEOUT_MIN} min)`, target: t };
        break;
      }
      if (r.killer) {
        row = { ...base, verdict: 'killed', killer: `${r.killer.family}/${r.killer.name}`, target: t };
        break;
      }
      if (r.exit !== 0 && r.exit !== 1) {
        // the kernel did not boot or broke the target (exit 2 or 4): the run fails, with this reason
        const why =
          r.summary?.properties.find((p) => p.verdict === 'error')?.reason ?? r.stderr.split('\n')[0]?.replace(/^s2conform: /, '') ?? '';
        row = { ...base, verdict: 'killed', killer: `run exit ${r.exit}: ${why.slice(0, 140)}`, target: t };
        break;
      }
    }
    stored.set(m.id, row ?? { ...base, verdict: 'survived' });
    save(); // on disk as it goes
  }
  await buildImage(tree); // the tree is back to the unmutated source
  // the notes decide what a survivor is: equivalent, or a survivor with its explanation
  const rows: ScoreRow[] = todo.flatMap(({ m }) => {
    const r = stored.get(m.id);
    if (!r) return [];
    const note = notes[m.id];
    if (r.verdict !== 'survived' || !note) return [r];
    return [{ ...r, verdict: note.verdict === 'equivalent' ? 'equivalent' : 'survived', note: note.why }];
  });
  const notRun = todo.length - rows.length;
  const count = (v: Verdict) => rows.filter((r) => r.verdict === v).length;
  const killed = count('killed');
  const survived = rows.filter((r) => r.verdict === 'survived');
  const scored = killed + survived.length;
  const lines: string[] = [];
  lines.push(
    `Mutation score against KVM (${todo.length} single-token mutants of ${REGIONS.map((r) => `\`${r.name}\``).join(', ')}; ${o.runs} runs, seed ${o.seed})`,
  );
  lines.push('');
  lines.push('| function | mutants | killed | survived | equivalent | did not build |');
  lines.push('| --- | --- | --- | --- | --- | --- |');
  for (const region of REGIONS) {
    const rs = rows.filter((r) => r.id.startsWith(`${region.name}+`));
    const n = (v: Verdict) => rs.filter((r) => r.verdict === v).length;
    lines.push(`| \`${region.name}\` | ${rs.length} | ${n('killed')} | ${n('survived')} | ${n('equivalent')} | ${n('did not build')} |`);
  }
  lines.push('');
  const byRun = rows.filter((r) => r.verdict === 'killed' && /^run /.test(r.killer ?? '')).length;
  lines.push(
    `Score: ${killed} killed of ${scored} (${scored ? Math.round((100 * killed) / scored) : 0}%: ${killed - byRun} by a property's counterexample, ${byRun} by the run failing outright), not counting ${count('equivalent')} equivalent and ${count('did not build')} that did not build${notRun ? `; ${notRun} not run (budget)` : ''}.`,
  );
  const unexplained = survived.filter((r) => r.note === undefined).length;
  if (survived.length > 0) {
    lines.push('', 'Survivors:', '');
    for (const r of survived) lines.push(`- \`${r.id}\` (${r.file}:${r.line}): ${r.note ?? '**not explained yet**'}`);
  }
  const eq = rows.filter((r) => r.verdict === 'equivalent');
  if (eq.length > 0) {
    lines.push('', 'Equivalent:', '');
    for (const r of eq) lines.push(`- \`${r.id}\` (${r.file}:${r.line}): ${r.note ?? ''}`);
  }
  return { lines, unexplained };
}
