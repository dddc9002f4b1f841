// All bundles of Inversion. `node esbuild.mjs [--production] [--watch] [--only=client,server,cli,webview,tests]`
//   client  client/src/extension.ts      -> dist/client.js          (cjs, node, external vscode)
//   server  server/src/server.ts         -> dist/server.js          (cjs, node)
//           server/src/shell/parseWorker.ts -> dist/parseWorker.js  (its worker thread: whole-script parses)
//           server/src/knowledge/manpages/pageWorker.ts -> dist/manPageWorker.js  (server's and cli's: man pages)
//   cli     server/src/cli/main.ts       -> dist/cli.js             (cjs, node; only when the file exists)
//   webview webview/src/main.ts          -> webview/dist/main.js    (iife, browser)
//   tests   test/vscode/suite/*.ts       -> dist/test/vscode/*.js   (cjs, node, external vscode + mocha)
// node-llama-cpp stays external (ESM-only, native prebuilds): the engine loads it with `await import()`, which
// esbuild leaves intact in cjs output for external packages. web-tree-sitter's ESM build uses import.meta.url,
// so node bundles define it from __filename (banner). The tree-sitter wasm files are copied next to the bundles.
import * as esbuild from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const root = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const args = process.argv.slice(2);
const production = args.includes("--production");
const watch = args.includes("--watch");
const onlyArg = args.find((a) => a.startsWith("--only="));
const only = onlyArg ? new Set(onlyArg.slice("--only=".length).split(",")) : null;
const want = (name) => !only || only.has(name);

const NODE_EXTERNALS = ["node-llama-cpp", "@node-llama-cpp/*", "vscode"];

/**
 * Prints build start/end and errors in the format the background problem matcher in .vscode/tasks.json reads.
 * One "[watch] build started" when the first of the builds starts and one "[watch] build finished" when the last ends.
 */
let activeBuilds = 0;
const problemMatcher = (name) => ({
  name: "problem-matcher",
  setup(build) {
    build.onStart(() => {
      if (watch && activeBuilds++ === 0) console.log(`[watch] build started (${name})`);
    });
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (watch && --activeBuilds === 0) console.log(`[watch] build finished (${name}, ${result.errors.length} errors)`);
    });
  },
});

/** Copies the tree-sitter wasm files next to a node bundle after every build. */
const copyWasm = (outdir) => ({
  name: "copy-wasm",
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length) return;
      mkdirSync(outdir, { recursive: true });
      const files = [
        [require.resolve("web-tree-sitter/tree-sitter.wasm"), "tree-sitter.wasm"],
        [join(dirname(require.resolve("tree-sitter-bash/package.json")), "tree-sitter-bash.wasm"), "tree-sitter-bash.wasm"],
      ];
      for (const [src, file] of files) {
        if (existsSync(src)) copyFileSync(src, join(outdir, file));
        else console.warn(`copy-wasm: ${src} not found`);
      }
    });
  },
});

const nodeCommon = {
  bundle: true,
  format: "cjs",
  platform: "node",
  target: "node20",
  sourcemap: !production,
  sourcesContent: false,
  minify: production,
  logLevel: "warning",
  external: NODE_EXTERNALS,
  define: { "import.meta.url": "importMetaUrl" },
  banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

const builds = [];
if (want("client"))
  builds.push({
    name: "client",
    options: { ...nodeCommon, entryPoints: [join(root, "client/src/extension.ts")], outfile: join(root, "dist/client.js") },
  });
if (want("server"))
  builds.push({
    name: "server",
    options: { ...nodeCommon, entryPoints: [join(root, "server/src/server.ts")], outfile: join(root, "dist/server.js"), plugins: [copyWasm(join(root, "dist"))] },
  });
if (want("server"))
  builds.push({
    name: "parse worker",
    options: { ...nodeCommon, entryPoints: [join(root, "server/src/shell/parseWorker.ts")], outfile: join(root, "dist/parseWorker.js") },
  });
if (want("server") || want("cli"))
  builds.push({
    name: "man page worker",
    options: { ...nodeCommon, entryPoints: [join(root, "server/src/knowledge/manpages/pageWorker.ts")], outfile: join(root, "dist/manPageWorker.js") },
  });
if (want("cli") && existsSync(join(root, "server/src/cli/main.ts")))
  builds.push({
    name: "cli",
    options: { ...nodeCommon, entryPoints: [join(root, "server/src/cli/main.ts")], outfile: join(root, "dist/cli.js"), plugins: [copyWasm(join(root, "dist"))] },
  });
if (want("webview"))
  builds.push({
    name: "webview",
    options: {
      bundle: true,
      format: "iife",
      platform: "browser",
      target: "es2022",
      sourcemap: production ? false : "inline",
      minify: production,
      logLevel: "warning",
      entryPoints: [join(root, "webview/src/main.ts")],
      outfile: join(root, "webview/dist/main.js"),
    },
  });
if (want("tests")) {
  const suiteDir = join(root, "test/vscode/suite");
  const entries = existsSync(suiteDir) ? readdirSync(suiteDir).filter((f) => f.endsWith(".ts")).map((f) => join(suiteDir, f)) : [];
  if (entries.length)
    builds.push({
      name: "tests",
      options: { ...nodeCommon, entryPoints: entries, outdir: join(root, "dist/test/vscode"), external: [...NODE_EXTERNALS, "mocha"] },
    });
}

const started = Date.now();
if (watch) {
  for (const b of builds) {
    const ctx = await esbuild.context({ ...b.options, plugins: [...(b.options.plugins ?? []), problemMatcher(b.name)] });
    await ctx.watch();
  }
} else {
  const results = await Promise.allSettled(
    builds.map((b) => esbuild.build({ ...b.options, plugins: [...(b.options.plugins ?? []), problemMatcher(b.name)] })),
  );
  const failed = results.map((r, i) => (r.status === "rejected" ? builds[i].name : null)).filter(Boolean);
  if (failed.length) {
    console.error(`esbuild: failed: ${failed.join(", ")}`);
    process.exit(1);
  }
  console.log(`esbuild: built ${builds.map((b) => b.name).join(", ")} in ${Date.now() - started} ms${production ? " (production)" : ""}`);
}
