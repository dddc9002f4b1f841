// Reading a command's words against a page's options, as getopt would: combined short flags (`-xzvf`), values
// attached or in the next word (`-ofile`, `-o file`, `--output=FILE`, `--output FILE`), single-dash long options
// (`find -name`), and `--` ending the options.
import type { ManItem } from "./page";

export interface OptionUse {
  flag: string;
  value?: string;
  /** The page's paragraph for the flag; absent when the page does not document it. */
  item?: ManItem;
}

export type OptionLookup = (flag: string) => ManItem | undefined;

export interface OptionReading {
  uses: OptionUse[];
  operands: string[];
  /** Index of the first word not read (the first operand when reading stops there). */
  next: number;
  /** A bare `--` was read: every word after it is an operand, however it looks. */
  ended: boolean;
}

/** Reads `words`; with `untilOperand` it stops at the first operand (a subcommand such as `git commit`). */
export function readOptions(words: readonly string[], lookup: OptionLookup, opts: { untilOperand?: boolean } = {}): OptionReading {
  const uses: OptionUse[] = [];
  const operands: string[] = [];
  let ended = false;
  let i = 0;
  // A word is a value unless it is itself one of the page's options (find -exec … ; -print: -print is not a value).
  const valueAt = (j: number): string | undefined => {
    const word = words[j];
    if (word === undefined || (word.startsWith("-") && lookup(word))) return undefined;
    i = j;
    return word;
  };
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (!ended && word === "--") {
      ended = true;
      continue;
    }
    if (ended || !word.startsWith("-") || word === "-") {
      if (opts.untilOperand) return { uses, operands, next: i, ended };
      operands.push(word);
      continue;
    }
    uses.push(...(word.startsWith("--") ? longOption(word, lookup, valueAt, i) : shortOptions(word, lookup, valueAt, i)));
  }
  return { uses, operands, next: words.length, ended };
}

function longOption(word: string, lookup: OptionLookup, valueAt: (j: number) => string | undefined, i: number): OptionUse[] {
  const equals = word.indexOf("=");
  const flag = equals < 0 ? word : word.slice(0, equals);
  const item = lookup(flag);
  const value = equals >= 0 ? word.slice(equals + 1) : item?.value === "required" ? valueAt(i + 1) : undefined;
  return [use(flag, item, value)];
}

/** `-name` when the page has it; else letters: `-xzvf` → -x -z -v -f, a value-taking letter takes the rest or the next word. */
function shortOptions(word: string, lookup: OptionLookup, valueAt: (j: number) => string | undefined, i: number): OptionUse[] {
  const whole = lookup(word);
  if (whole) return [use(word, whole, whole.value === "required" ? valueAt(i + 1) : undefined)];
  const letters = word.slice(1);
  if (letters.length > 1 && !lookup(`-${letters[0]}`)) return [use(word, undefined, undefined)];
  const uses: OptionUse[] = [];
  for (let j = 0; j < letters.length; j++) {
    const flag = `-${letters[j]}`;
    const item = lookup(flag);
    const rest = letters.slice(j + 1);
    if (item?.value === "required") return [...uses, use(flag, item, rest !== "" ? rest : valueAt(i + 1))];
    if (item?.value === "optional" && rest !== "") return [...uses, use(flag, item, rest)];
    uses.push(use(flag, item, undefined));
  }
  return uses;
}

function use(flag: string, item: ManItem | undefined, value: string | undefined): OptionUse {
  return { flag, ...(value !== undefined ? { value } : {}), ...(item ? { item } : {}) };
}
