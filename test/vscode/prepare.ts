// The workspace the VS Code suite runs in: the user's settings pointing at the fixture model, and the scripts it opens.
//   node --import tsx test/vscode/prepare.ts DIR USER_DATA_DIR   (for the desktop test-electron launch configuration)
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { writeFixtureModel } from "../../tools/gguf/fixtureModel";
import { COMMENTED_SCRIPT } from "../helpers/scripts";

/** A real, well-commented Debian script (for the screenshots; its origin and licence: test/fixtures/scripts/README.md). */
const DEBIAN_SCRIPT = resolve(__dirname, "../fixtures/scripts/debian-x11-common.sh");

/**
 * `userDataDir`: VS Code's --user-data-dir; the inversion.* settings go into its User/settings.json, since a
 * workspace's model settings are used only once the user allowed them (client/src/trust.ts).
 * `xdgCache`: the $XDG_CACHE_HOME the language server will see (its comment-check self-check is measured there, for
 * real: warnings rest on the shipped example index and man pages, not on the model).
 */
export async function prepareWorkspace(ws: string, userDataDir: string, test: { results?: string; grep?: string } = {}, xdgCache?: string): Promise<string> {
  mkdirSync(join(ws, ".vscode"), { recursive: true });
  mkdirSync(join(ws, ".fixture"), { recursive: true });
  const model = await writeFixtureModel(join(ws, ".fixture", "fixture.gguf"));
  if (xdgCache) mkdirSync(join(xdgCache, "inversion"), { recursive: true });
  copyFileSync(DEBIAN_SCRIPT, join(ws, "debian-x11-common.sh"));
  writeJson(join(userDataDir, "User", "settings.json"), {
    "inversion.model": model,
    "inversion.gpu": "off",
    "inversion.threads": 1,
    "inversion.hoverAdapter": "base",
    "inversion.runsDirectory": join(ws, ".fixture", "runs"),
    "inversion.diagnostics.debounceMs": 100,
    "inversion.diagnostics.maxCommandsPerPass": 10,
  });
  writeFileSync(
    join(ws, ".vscode/settings.json"),
    JSON.stringify(
      {
        "files.associations": { "*.sh": "shellscript" },
        "workbench.startupEditor": "none",
        "extensions.autoCheckUpdates": false,
        "extensions.autoUpdate": false,
        "telemetry.telemetryLevel": "off",
      },
      null,
      2,
    ),
  );
  writeFileSync(join(ws, "commented.sh"), COMMENTED_SCRIPT);
  writeFileSync(join(ws, "archive.sh"), "tar -czf logs.tgz /var/log\n");
  writeFileSync(join(ws, "binary.sh"), Buffer.concat([Buffer.from("# list files\nls -la\n"), Buffer.from([0, 1, 2, 0, 0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0xff, 0xfe])]));
  // a comment the check warns on, in a file that is not valid UTF-8: skipped, so no warning
  writeFileSync(join(ws, "latin1.sh"), Buffer.from([...Buffer.from("# make the script executable, caf"), 0xe9, 0x0a, ...Buffer.from("rm -rf build "), 0xff, 0xfe, 0xfd, 0xe9, 0xe8, 0x0a]));
  const big: string[] = [];
  // every comment says what another program does: the grounded check warns on each
  for (let i = 0; big.length < 50_000; i++) big.push(`# compress the logs folder into archive ${i}`, `df -h /mnt/disk${i}`);
  writeFileSync(join(ws, "big.sh"), big.join("\n") + "\n");
  writeFileSync(join(ws, ".inversion-test.json"), JSON.stringify(test));
  return ws;
}

function writeJson(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(value, null, 2));
}

if (require.main === module) {
  const [dir, userDataDir] = process.argv.slice(2);
  if (!dir || !userDataDir) {
    console.error("usage: prepare.ts DIR USER_DATA_DIR");
    process.exit(2);
  }
  prepareWorkspace(resolve(dir), resolve(userDataDir)).then((ws) => console.log(`prepared ${ws}`));
}
