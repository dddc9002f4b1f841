// Writes the run parameters' editor settings into package.json's contributes.configuration from their one
// declaration (common/runParams.ts), keeping each entry's `order`. test/unit/runParams.test.ts fails until this ran.
//   node --import tsx scripts/sync-settings.ts
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SETTING_PARAM_KEYS, manifestEntry, settingName } from "../common/runParams";

const file = join(__dirname, "..", "package.json");
const manifest = JSON.parse(readFileSync(file, "utf8")) as { contributes: { configuration: { properties: Record<string, Record<string, unknown>> } } };
const properties = manifest.contributes.configuration.properties;
for (const key of SETTING_PARAM_KEYS) {
  const name = settingName(key);
  properties[name] = { ...manifestEntry(key), order: properties[name]?.order };
}
writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
console.log(`package.json: ${SETTING_PARAM_KEYS.length} run-parameter settings written`);
