// What the client, the webview and the server must agree on is declared once in common/ and used from there.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { InversionErrorCodes, type RunView } from "../../common/protocol";
import { isStaleView } from "../../common/runView";

const ROOT = resolve(__dirname, "../..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const FRONT_AND_BACK = ["client/src", "webview/src", "server/src", "common"].flatMap((d) => sources(join(ROOT, d)));

/** The files (relative to the root) whose text matches `re`. */
const matching = (re: RegExp): string[] => FRONT_AND_BACK.filter((f) => re.test(readFileSync(f, "utf8"))).map((f) => relative(ROOT, f));

const view = (runDir: string, version: number): RunView => ({
  version, runDir, points: [], state: "running", status: "", percent: 0, heldOut: "", resumable: false, placeholder: "", notes: { score: "", loss: "" },
});

test("one staleness rule: an older view of the run shown is dropped; the same one, another run's, or one read from disk is not", () => {
  const shown = view("/runs/a", 5);
  assert.deepEqual(
    [isStaleView(shown, view("/runs/a", 4)), isStaleView(shown, view("/runs/a", 5)), isStaleView(shown, view("/runs/b", 1)), isStaleView(shown, view("/runs/a", 0)), isStaleView(null, view("/runs/a", 1))],
    [true, false, false, false, false],
  );
});

test("views' versions are compared in common/runView.ts only: the client and the webview apply its rule", () => {
  assert.deepEqual(matching(/\.version\s*[<>]=?/), ["common/runView.ts"]);
});

test("error codes: declared once, distinct, outside JSON-RPC's reserved range, and every error the server answers with names one", () => {
  const codes = Object.values(InversionErrorCodes);
  assert.equal(new Set(codes).size, codes.length);
  assert.ok(codes.every((c) => Number.isInteger(c) && (c < -32768 || c > -32000)));
  assert.deepEqual(matching(/new ResponseError\(\s*-?\d/), []);
});
