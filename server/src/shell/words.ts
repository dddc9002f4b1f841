// Word-level helpers: quote removal, flag splitting, and where wrapper utilities (xargs, sudo, find -exec) start a nested command.

export interface Word {
  /** The word with quotes and backslash escapes removed; expansions such as $x or $(…) stay as written. */
  text: string;
  startIndex: number;
  endIndex: number;
}

/** Removes shell quoting from one word's source text. Not a full expansion: `$x`, `$(…)`, globs are kept verbatim. */
export function dequote(raw: string): string {
  let out = "";
  let i = 0;
  while (i < raw.length) {
    const c = raw[i];
    if (c === "\\") {
      if (raw[i + 1] !== "\n") out += raw[i + 1] ?? "";
      i += 2;
    } else if (c === "'") {
      const close = raw.indexOf("'", i + 1);
      const end = close < 0 ? raw.length : close;
      out += raw.slice(i + 1, end);
      i = end + 1;
    } else if (c === "$" && raw[i + 1] === "'") {
      let j = i + 2;
      while (j < raw.length && raw[j] !== "'") j += raw[j] === "\\" ? 2 : 1;
      out += raw.slice(i + 2, Math.min(j, raw.length));
      i = j + 1;
    } else if (c === '"') {
      i++;
      while (i < raw.length && raw[i] !== '"') {
        if (raw[i] === "\\" && '"\\$`\n'.includes(raw[i + 1] ?? "")) {
          if (raw[i + 1] !== "\n") out += raw[i + 1];
          i += 2;
        } else {
          out += raw[i];
          i++;
        }
      }
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** find's primaries: single-dash words that must not be split into letters (BSD flags such as -EXdsx still are). */
const FIND_PRIMARIES = new Set(
  (
    "-name -iname -path -ipath -wholename -iwholename -regex -iregex -type -xtype -size -empty -newer -anewer -cnewer " +
    "-mtime -mmin -atime -amin -ctime -cmin -mindepth -maxdepth -depth -prune -print -print0 -printf -fprint -fprint0 " +
    "-fprintf -ls -fls -exec -execdir -ok -okdir -delete -user -group -uid -gid -nouser -nogroup -perm -links -inum " +
    "-samefile -readable -writable -executable -follow -mount -xdev -fstype -not -and -or -a -o -true -false -quit " +
    "-regextype -daystart -noleaf -ignore_readdir_race -newermt -newerct -newerat -lname -ilname -used -context -flags " +
    "-help -version -warn -nowarn -D -O -P -L -H"
  ).split(" "),
);

/** Utilities whose single-dash options are whole words (gcc -Wall, ffmpeg -vcodec, java -jar): never split them. */
const SINGLE_DASH_LONG = new Set(
  (
    "java javac kotlin scala ffmpeg ffprobe ffplay gcc g++ cc c++ clang clang++ ld go terraform openssl convert magick " +
    "mogrify identify composite montage xcodebuild nmap qemu-img qemu-system-x86_64 sox mplayer mpv vlc xdotool " +
    "xrandr xset xwininfo swift swiftc ant mvn gradle dig nslookup iptables ip6tables ebtables tc"
  ).split(" "),
);

const NUMBER = /^-\d+(\.\d+)?$/;

/** Splits one option word into the flag names NLC2CMD compares: -la → [-l, -a], --color=auto → [--color], -n5 → [-n]. */
export function splitFlag(utility: string, word: string): string[] {
  if (word.startsWith("--")) return [withoutValue(word)];
  if (utility === "find" && FIND_PRIMARIES.has(word)) return [word];
  if (SINGLE_DASH_LONG.has(utility)) return [withoutValue(word)];
  const letters = /^-([A-Za-z]+)/.exec(word)?.[1];
  if (letters === undefined) return [word];
  return [...letters].map((c) => `-${c}`);
}

function withoutValue(flag: string): string {
  const equals = flag.indexOf("=");
  return equals < 0 ? flag : flag.slice(0, equals);
}

/**
 * Splits words into flags and positional arguments. A negative number directly after a flag is that flag's value
 * (find -ctime -3); flag values are otherwise counted as arguments, since the parser knows no option grammar.
 */
export function classifyWords(utility: string, words: readonly Word[]): { flags: string[]; args: string[] } {
  const flags: string[] = [];
  const args: string[] = [];
  let optionsEnded = false;
  let previousWasFlag = false;
  for (const { text } of words) {
    // echo takes only -n/-e/-E; anything else, "--" included, is printed text.
    if (utility === "echo" && !/^-[neE]+$/.test(text)) optionsEnded = true;
    const isOption =
      !optionsEnded && text.length > 1 && text.startsWith("-") && !(NUMBER.test(text) && previousWasFlag);
    if (!optionsEnded && text === "--") {
      optionsEnded = true;
      previousWasFlag = false;
      continue;
    }
    if (isOption) {
      flags.push(...splitFlag(utility, text));
      previousWasFlag = true;
    } else {
      args.push(text);
      previousWasFlag = false;
    }
  }
  return { flags, args };
}

interface WrapperSpec {
  /** Options that take the next word as their value. */
  valued: string[];
  /** Positional words before the wrapped command (timeout's duration, chroot's root). */
  positionals?: number;
  /** env-style NAME=value words before the command. */
  assignments?: boolean;
}

const WRAPPERS = new Map<string, WrapperSpec>([
  ["sudo", { valued: ["-u", "-g", "-C", "-D", "-h", "-p", "-U", "-r", "-t", "-T"] }],
  ["doas", { valued: ["-u", "-C"] }],
  ["xargs", { valued: ["-I", "-n", "-P", "-L", "-s", "-d", "-E", "-a"] }],
  ["time", { valued: ["-f", "-o"] }],
  ["nohup", { valued: [] }],
  ["nice", { valued: ["-n"] }],
  ["ionice", { valued: ["-c", "-n", "-p"] }],
  ["stdbuf", { valued: ["-i", "-o", "-e"] }],
  ["timeout", { valued: ["-s", "-k"], positionals: 1 }],
  ["env", { valued: ["-u", "-C", "-S"], assignments: true }],
  ["watch", { valued: ["-n", "-d"] }],
  ["exec", { valued: ["-a"] }],
  ["command", { valued: [] }],
  ["builtin", { valued: [] }],
  ["chroot", { valued: [], positionals: 1 }],
]);

const FIND_EXEC = new Set(["-exec", "-execdir", "-ok", "-okdir"]);
const FIND_TERMINATORS = new Set([";", "+"]);

/** [start, end) index ranges of `words` that form a nested command, plus indexes of terminator words (find's `;`/`+`). */
export function nestedCommandRanges(
  utility: string,
  words: readonly Word[],
): { ranges: Array<[number, number]>; terminators: number[] } {
  if (utility === "find") {
    const ranges: Array<[number, number]> = [];
    const terminators: number[] = [];
    for (let i = 0; i < words.length; i++) {
      if (!FIND_EXEC.has(words[i]?.text ?? "")) continue;
      let end = i + 1;
      while (end < words.length && !FIND_TERMINATORS.has(words[end]?.text ?? "")) end++;
      if (end > i + 1) ranges.push([i + 1, end]);
      if (end < words.length) terminators.push(end);
      i = end;
    }
    return { ranges, terminators };
  }
  const spec = WRAPPERS.get(utility);
  if (!spec) return { ranges: [], terminators: [] };
  let positionals = spec.positionals ?? 0;
  for (let i = 0; i < words.length; i++) {
    const text = words[i]?.text ?? "";
    if (text === "--") {
      return { ranges: i + 1 < words.length ? [[i + 1, words.length]] : [], terminators: [] };
    }
    if (text.startsWith("-") && text.length > 1) {
      if (spec.valued.includes(text)) i++;
      continue;
    }
    if (spec.assignments && /^[A-Za-z_][A-Za-z0-9_]*=/.test(text)) continue;
    if (positionals > 0) {
      positionals--;
      continue;
    }
    return { ranges: [[i, words.length]], terminators: [] };
  }
  return { ranges: [], terminators: [] };
}
