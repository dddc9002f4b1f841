// Commands as they appear in real scripts rather than in tldr pages: tldr writes `tar czf path/to/target.tar.gz
// path/to/file1 path/to/file2 ...`, a script writes `tar -czf logs.tgz /var/log`. The shell model is trained on
// both forms of each command (command -> task), so that its readings of concrete commands are those of the page.
type Random = () => number;

const DIRECTORIES = ["/var/log", "src", "build", "/tmp/work", "docs", "~/projects", "/etc/nginx", "data", "out", "/srv/www"];
const FILE_STEMS = ["logs", "backup", "data", "report", "notes", "config", "release", "app", "main", "index"];
const PLAIN_FILES = ["notes.txt", "data.csv", "config.yml", "main.c", "README.md", "app.log", "settings.json", "run.sh"];
const FILE_DIRS = ["", "", "", "/tmp/", "out/", "~/", "/var/lib/app/"];

const pick = <T>(items: readonly T[], random: Random): T => items[Math.floor(random() * items.length)]!;

/** A concrete stand-in for one `path/to/NAME[.ext]` placeholder. */
function concretePath(name: string, random: Random): string {
  const dot = name.indexOf(".");
  if (dot > 0) {
    const ext = name.slice(dot);
    return pick(FILE_DIRS, random) + pick(FILE_STEMS, random) + (ext === ".tar.gz" && random() < 0.4 ? ".tgz" : ext);
  }
  if (/dir|folder|mount|destination|source/.test(name)) return pick(DIRECTORIES, random);
  return pick(FILE_DIRS, random) + pick(PLAIN_FILES, random);
}

/** tar's bundled first word (`czf`) with the dash most scripts write (`-czf`). */
function dashTarBundle(command: string): string {
  return command.replace(/^((?:sudo )?tar )([a-zA-Z]{2,})(?= )/, "$1-$2");
}

/**
 * The command with tldr's placeholders replaced by plausible concrete values: paths, one choice out of `a|b|c`
 * alternatives and `[.gz|.bz2]` optional parts, no trailing `...`. Deterministic for a given `random`.
 */
export function concreteCommand(command: string, random: Random): string {
  let out = command
    .replace(/ \.\.\.(?= |$)/g, "")
    .replace(/\[((?:\.?\w+\|)+\.?\w+)\]/g, (_m, alts: string) => (random() < 0.5 ? pick(alts.split("|"), random) : ""))
    .replace(/(?<![\w"'|/-])(\w+(?:\|\w+)+)(?![\w"'|])/g, (_m, alts: string) => pick(alts.split("|"), random))
    .replace(/path\/to\/([\w.\-]+)/g, (_m, name: string) => concretePath(name, random));
  if (random() < 0.5) out = dashTarBundle(out);
  return out;
}
