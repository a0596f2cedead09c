// The flag table (./flags.ts) put to use: a subcommand's command line parsed and checked, the flags a
// run hands its target, and a failure's replay line.

import { UsageError } from '../adapters/spec.ts';
import { parseFlags } from './args.ts';
import { COMMANDS, type Command, flagsOf, type Given, type PassThrough, type ReplayFlags, type TargetFlags, type Values } from './flags.ts';

/** A subcommand's command line, parsed and checked: every usage error of its flags is thrown here. */
export function parseCommand<C extends Command>(cmd: C, argv: readonly string[]): { values: Values<C>; positionals: string[] } {
  const flags = flagsOf(cmd);
  const options = Object.fromEntries([
    ...flags.map((f) => [
      f.name,
      f.type === 'boolean'
        ? { type: 'boolean' as const, default: false }
        : f.type === 'multiple'
          ? { type: 'string' as const, multiple: true, default: [] }
          : { type: 'string' as const, ...(f.default !== undefined ? { default: f.default } : {}) },
    ]),
    ['help', { type: 'boolean' as const, default: false }],
  ]);
  const spec = COMMANDS[cmd].positionals;
  const { values, positionals } = parseFlags(argv, options, spec !== undefined);
  const given: Given = values;
  const problem =
    spec?.check(positionals) ??
    flags
      .map((f) => {
        const v = given[f.name];
        const each = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
        return each.map((x) => f.check?.(x, given)).find((p) => p !== undefined);
      })
      .find((p) => p !== undefined);
  if (problem !== undefined) throw new UsageError(problem);
  return { values: values as Values<C>, positionals };
}

/** The pass-through flags among a run's values, as given. */
export function targetFlags(given: Given): TargetFlags {
  return Object.fromEntries(
    flagsOf('run').flatMap((f) => {
      const v = given[f.name];
      return f.target && typeof v === 'string' ? [[f.name, v]] : [];
    }),
  );
}

/** The TargetOptions the pass-through flags give, each as its flag's `target` makes it. */
export function passThrough(given: TargetFlags): PassThrough {
  const values: Given = given;
  return Object.assign(
    {},
    ...flagsOf('run').map((f) => {
      const v = values[f.name];
      return f.target && typeof v === 'string' ? f.target(v) : {};
    }),
  );
}

/** The command line that replays one failure: its replay flags in the table's order (absent and false ones left out). */
export function replayLine(given: ReplayFlags): string {
  const values: Readonly<Record<string, string | number | boolean | undefined>> = given;
  const parts = ['npx s2conform run'];
  for (const f of flagsOf('run')) {
    const v = values[f.name];
    if (f.replay === undefined || v === undefined || v === false) continue;
    parts.push(v === true ? `--${f.name}` : f.replay === 'quoted' ? `--${f.name} '${v}'` : `--${f.name} ${v}`);
  }
  return parts.join(' ');
}
