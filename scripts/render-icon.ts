// Renders media/icon.svg into media/icon.png (256×256, transparent corners), the extension's icon. vsce takes PNG only.
//   node --import tsx scripts/render-icon.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../test/helpers/chromium";

const media = join(__dirname, "..", "media");
const svg = readFileSync(join(media, "icon.svg"), "utf8");
async function main(): Promise<void> {
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 256, height: 256 } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg}</body></html>`);
    await page.locator("svg").screenshot({ path: join(media, "icon.png"), omitBackground: true });
  } finally {
    await browser.close();
  }
}

void main();
