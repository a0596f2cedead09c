// `s2conform --help` and `s2conform <cmd> --help`, written from the flag table (./flags.ts).

import { COMMANDS, type Command, type Flag, flagsOf } from './flags.ts';

const COLUMN = 17;
const indent = (text: string, by: number) => text.replaceAll('\n', `\n${' '.repeat(by)}`);

/** Two columns: the left padded to COLUMN, or on a line of its own when it is too long. */
function row(left: string, text: string): string {
  const l = `  ${left}`;
  return `${l.length < COLUMN - 1 ? l.padEnd(COLUMN) : `${l}\n${' '.repeat(COLUMN)}`}${indent(text, COLUMN)}\n`;
}

const flagWithArg = (f: Flag) => `--${f.name}${f.arg ? ` ${f.arg}` : ''}`;

/** `bench [--target T ...] [--runs N] [--seed S]` */
export function synopsis(cmd: Command): string {
  const p = COMMANDS[cmd].positionals?.arg;
  const flags =
    COMMANDS[cmd].brief ??
    flagsOf(cmd)
      .map((f) => `[${flagWithArg(f)}${f.type === 'multiple' ? ' ...' : ''}]`)
      .join(' ');
  return [cmd, p, flags].filter((s) => s).join(' ');
}

/** A subcommand's usage line: its synopsis and what it is for. */
export function usageLines(cmd: Command): string {
  const s = `  s2conform ${synopsis(cmd)}`;
  const at = 31;
  return `${s.length < at - 1 ? s.padEnd(at) : `${s}\n${' '.repeat(at)}`}${indent(COMMANDS[cmd].summary, at)}\n`;
}

/** "Options of <cmd>:" and a row per positional argument and flag. */
export function optionsHelp(cmd: Command): string {
  const p = COMMANDS[cmd].positionals;
  const rows = flagsOf(cmd).map((f) => {
    const dflt = f.default !== undefined && !f.help.includes('(default') ? ` (default ${f.default})` : '';
    return row(flagWithArg(f), `${f.help}${dflt}`);
  });
  return `Options of ${cmd}:\n${p?.help ? row(p.arg, p.help) : ''}${rows.join('')}`;
}

/** `s2conform <cmd> --help`: its usage line and its options. */
export function commandHelp(cmd: Command): string {
  return `Usage:\n${usageLines(cmd)}\n${optionsHelp(cmd)}`;
}
