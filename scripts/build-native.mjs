#!/usr/bin/env node
// Builds the native trainer addon (server/native/trainer) against the prebuilt llama.cpp libraries
// that node-llama-cpp ships, with headers from node-llama-cpp's bundled llama.cpp source.
//
//   node scripts/build-native.mjs            build if missing or out of date (idempotent)
//   node scripts/build-native.mjs --force    rebuild
//
// Output: server/native/build/inversion_trainer.node (the addon the extension ships) and inversion_tools.node (benchmarks
// and tests only); everything under server/native/build/ is gitignored.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// The internal llama_adapter_lora / llama_model layouts the addon relies on are specific to this
// llama.cpp release, so refuse to build against any other node-llama-cpp.
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// The one pin: package.json's dependency.
const EXPECTED_NLC = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies["node-llama-cpp"];
const EXPECTED_TAG = "v0.5.0";

const require = createRequire(join(root, "package.json"));
const force = process.argv.includes("--force");

function die(msg) {
  console.error(`build-native: ${msg}`);
  process.exit(1);
}

function packageDir(name) {
  for (const base of require.resolve.paths(name) ?? []) {
    if (existsSync(join(base, name, "package.json"))) return join(base, name);
  }
  return null;
}

const nlcDir = packageDir("node-llama-cpp");
if (!nlcDir) die("node-llama-cpp is not installed (run npm install)");
const nlcVersion = JSON.parse(readFileSync(join(nlcDir, "package.json"), "utf8")).version;
if (nlcVersion !== EXPECTED_NLC) {
  die(`node-llama-cpp ${nlcVersion} is installed but the trainer is written for ${EXPECTED_NLC} ` +
      `(it uses llama.cpp ${EXPECTED_TAG} internal struct layouts). Install node-llama-cpp@${EXPECTED_NLC}.`);
}
const info = JSON.parse(readFileSync(join(nlcDir, "llama", "llama.cpp.info.json"), "utf8"));
if (info.tag !== EXPECTED_TAG) die(`node-llama-cpp bundles llama.cpp ${info.tag}, expected ${EXPECTED_TAG}`);

const platformPkg = `@node-llama-cpp/${process.platform}-${process.arch}`;
if (process.platform !== "linux") die(`only linux is supported so far (found ${process.platform})`);
const platformDir = packageDir(platformPkg);
if (!platformDir) die(`${platformPkg} (node-llama-cpp's prebuilt CPU binaries) is not installed`);
const binsDir = join(platformDir, "bins", `${process.platform}-${process.arch}`);
for (const lib of ["libllama.v0.5.0.so", "libggml.v0.5.0.so", "libggml-base.so"]) {
  if (!existsSync(join(binsDir, lib))) die(`missing ${lib} in ${binsDir} (is ${platformPkg} installed?)`);
}

const buildDir = join(root, "server", "native", "build");
const llamaSrc = join(buildDir, "llama-src");
const gypDir = join(buildDir, "gyp");
const srcDir = join(root, "server", "native", "trainer", "src");
const ADDONS = ["inversion_trainer", "inversion_tools"];
const outputs = ADDONS.map((name) => join(buildDir, `${name}.node`));
mkdirSync(buildDir, { recursive: true });

// 1. headers: clone the bundled llama.cpp source once
if (!existsSync(join(llamaSrc, "src", "llama-adapter.h"))) {
  const bundle = join(nlcDir, "llama", "gitRelease.bundle");
  if (!existsSync(bundle)) die(`missing ${bundle}`);
  console.log(`build-native: cloning ${bundle} -> ${llamaSrc}`);
  execFileSync("git", ["-c", "advice.detachedHead=false", "clone", "--quiet", bundle, llamaSrc], { stdio: "inherit" });
}

// 2. skip when the output is newer than every input
const inputs = [
  join(root, "server", "native", "trainer", "binding.gyp"),
  ...readdirSync(srcDir).map((f) => join(srcDir, f)),
];
const stamp = join(buildDir, "inversion_trainer.stamp.json");
const stampValue = JSON.stringify({ nlcVersion, tag: info.tag, binsDir });
if (!force && outputs.every((o) => existsSync(o)) && existsSync(stamp) && readFileSync(stamp, "utf8") === stampValue) {
  const outTime = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  if (inputs.every((f) => statSync(f).mtimeMs <= outTime)) {
    console.log(`build-native: up to date (${outputs.join(", ")})`);
    process.exit(0);
  }
}

// 3. node-gyp in a gitignored staging directory
mkdirSync(gypDir, { recursive: true });
copyFileSync(join(root, "server", "native", "trainer", "binding.gyp"), join(gypDir, "binding.gyp"));
let nodeGyp;
if (packageDir("node-gyp")) {
  nodeGyp = join(packageDir("node-gyp"), "bin", "node-gyp.js");
} else {
  const npmDir = dirname(dirname(realpathOf(process.execPath)));
  const candidates = [
    join(npmDir, "lib", "node_modules", "npm", "node_modules", "node-gyp", "bin", "node-gyp.js"),
    process.env.npm_config_node_gyp,
  ].filter(Boolean);
  nodeGyp = candidates.find((c) => existsSync(c));
}
if (!nodeGyp) die("node-gyp not found (install it, or run through npm which bundles it)");

const env = {
  ...process.env,
  INV_TRAINER_SRC: srcDir,
  INV_LLAMA_SRC: llamaSrc,
  INV_LLAMA_BINS: binsDir,
  INV_NLC_VERSION: nlcVersion,
  INV_LLAMA_TAG: info.tag,
};
const args = [nodeGyp, "rebuild", `--directory=${gypDir}`, `--jobs=${Math.max(1, Math.min(2, (await import("node:os")).cpus().length))}`];
// Build against the running Node's headers when they are installed locally (no download needed).
const localHeaders = join(dirname(dirname(realpathOf(process.execPath))), "include", "node", "node_api.h");
if (existsSync(localHeaders)) args.push(`--nodedir=${dirname(dirname(dirname(localHeaders)))}`);
console.log(`build-native: node-gyp (${nodeGyp})`);
try {
  execFileSync(process.execPath, args, { stdio: "inherit", env, cwd: gypDir });
} catch {
  die("node-gyp failed (see output above); a C++17 compiler, make and python3 are required");
}
// copy then rename: a trainer process that has the old addon mapped keeps its (unlinked) file intact
for (const [i, name] of ADDONS.entries()) {
  copyFileSync(join(gypDir, "build", "Release", `${name}.node`), `${outputs[i]}.tmp`);
  renameSync(`${outputs[i]}.tmp`, outputs[i]);
}
writeFileSync(stamp, stampValue);
console.log(`build-native: built ${outputs.join(", ")}`);

function realpathOf(p) {
  try {
    return execFileSync("readlink", ["-f", p]).toString().trim();
  } catch {
    return p;
  }
}
