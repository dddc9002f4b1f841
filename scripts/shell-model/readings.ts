// What a model reads 24 common script commands as (the editor's hover text), each checked against words that a
// reading about the right thing would use, after dropping a leading "tool: " (naming the program is not reading it).
// A coarse check: a reading can use the right word and still be wrong; it says whether readings are about the right
// program and action. (The first version also accepted the program's own name; it was made stricter after scoring.)
//   node --import tsx scripts/shell-model/readings.ts [MODEL] [--threads N]
import { parseArgs } from "node:util";
import { Engine, defaultModelPath } from "../../server/src/engine/api";

export const COMMON_COMMANDS: readonly (readonly [string, RegExp])[] = [
  ["tar -czf logs.tgz /var/log", /archiv|compress/i],
  ["tar -xzf release.tgz -C /opt", /extract|archiv|unpack/i],
  ["git status", /status|change/i],
  ['git commit -m "fix typo"', /commit/i],
  ["find . -name '*.py'", /find|search|files/i],
  ["grep -r TODO src", /search|pattern|find|match/i],
  ["mkdir -p build/out", /director|folder/i],
  ["chmod +x run.sh", /permission|executable|mode/i],
  ["chown www-data:www-data /srv/www", /owner/i],
  ["ls -la", /list|files|director/i],
  ["rm -rf build", /remove|delete/i],
  ["cp -r src backup", /copy/i],
  ["mv old.txt new.txt", /move|rename/i],
  ["curl -O https://example.com/file.zip", /download|url|http|fetch/i],
  ["ps aux", /process/i],
  ["df -h", /disk|filesystem|space|usage/i],
  ["du -sh /var/log", /disk|size|usage|space/i],
  ["kill -9 1234", /kill|terminat|signal|process/i],
  ["ssh deploy@example.com", /connect|remote|server|host|log ?in/i],
  ["head -n 20 app.log", /first|lines/i],
  ["tail -f /var/log/syslog", /follow|last|lines|output/i],
  ["sort data.csv | uniq -c", /sort|count|unique|duplicate/i],
  ["wc -l notes.txt", /count|lines/i],
  ["ln -s /opt/app/bin/app /usr/local/bin/app", /link/i],
];

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { threads: { type: "string", default: "2" } } });
  const modelPath = positionals[0] ?? defaultModelPath() ?? "models/inversion-shell.gguf";
  const engine = await Engine.open({ modelPath, threads: Number(values.threads), gpu: "off" });
  let about = 0;
  try {
    for (const [command, words] of COMMON_COMMANDS) {
      const reading = await engine.invert(command);
      const ok = words.test(reading.replace(/^[\w.+-]+: /, ""));
      about += ok ? 1 : 0;
      console.log(`${ok ? "✓" : "✗"} ${command}  →  ${reading}`);
    }
  } finally {
    await engine.dispose();
  }
  console.log(`${about}/${COMMON_COMMANDS.length} readings use a word about the right thing (${modelPath})`);
}

if (require.main === module) void main().catch((err: Error) => { console.error(err.message); process.exit(1); });
