// Writes the C++ side of the native trainer's contract from its one declaration (server/src/engine/train/contract.ts):
//   server/native/trainer/src/contract.generated.h    the Options and Result structs, their enums and defaults, and
//                                                      the range checks
//   server/native/trainer/src/contract.generated.inc  options_from_js and result_to_js (N-API), included by
//                                                      js_options.cpp
//   node --import tsx scripts/gen-trainer-contract.ts           write them
//   node --import tsx scripts/gen-trainer-contract.ts --check   exit 1 when they differ from what it would write
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { TRAIN_OPTIONS, TRAIN_RESULT } from "../server/src/engine/api";

const SRC = resolve(__dirname, "..", "server", "native", "trainer", "src");
const HEADER = "// Generated from server/src/engine/train/contract.ts by scripts/gen-trainer-contract.ts: do not edit.\n";

type AnySpec = { kind: string; cxx: string; doc: string; default?: unknown; min?: number; check?: string; choices?: readonly string[]; cxxEnum?: string; aliases?: Readonly<Record<string, string>> };
const options = Object.entries(TRAIN_OPTIONS) as [string, AnySpec][];
const results = Object.entries(TRAIN_RESULT) as [string, AnySpec][];

const CXX_TYPE: Record<string, string> = {
  string: "std::string", strings: "std::vector<std::string>", examples: "std::vector<Example>", bool: "bool",
  int: "int", int64: "int64_t", uint32: "uint32_t", float: "float", double: "double", flag: "bool",
};
const enumMember = (choice: string): string => choice.split(/[_-]/).map((w) => (/^[a-z]\d/.test(w) ? w.toUpperCase() : w[0]!.toUpperCase() + w.slice(1))).join("_").replace(/^Q8_0$/i, "Q8_0");

function literal(spec: AnySpec): string {
  if (spec.kind === "choice") return `${spec.cxxEnum}::${enumMember(String(spec.default))}`;
  if (spec.kind === "flag") return String(spec.default === spec.choices![1]);
  if (spec.kind === "string") return JSON.stringify(spec.default);
  if (spec.kind === "float") return `${Number(spec.default)}f`.replace(/^(-?\d+)f$/, "$1.0f");
  return String(spec.default);
}

function structField(js: string, spec: AnySpec, withDefault: boolean): string {
  const type = spec.kind === "choice" ? spec.cxxEnum! : CXX_TYPE[spec.kind]!;
  const init = withDefault && spec.default !== undefined && spec.default !== "" ? ` = ${literal(spec)}` : spec.kind === "bool" || spec.kind === "flag" ? " = false" : CXX_TYPE[spec.kind] && /int|float|double/.test(spec.kind) ? " = 0" : "";
  return `    ${type} ${spec.cxx}${init};  // ${js}: ${spec.doc}`;
}

function rangeChecks(): string[] {
  const lines: string[] = [];
  for (const [js, spec] of options) {
    const v = `o.${spec.cxx}`;
    if (spec.check) lines.push(`    { const auto v = ${v}; if (!(${spec.check})) return "${js} ${spec.doc}"; }`);
    if (spec.min !== undefined) lines.push(`    if (${v} < ${spec.min}) return "${js} must be at least ${spec.min} (got " + std::to_string(${v}) + ")";`);
  }
  return lines;
}

export function headerText(): string {
  const enums = options.filter(([, s]) => s.kind === "choice").map(([, s]) => `enum class ${s.cxxEnum} { ${s.choices!.map(enumMember).join(", ")} };`);
  return [
    HEADER + "#pragma once",
    "",
    "#include <cmath>",
    "#include <cstdint>",
    "#include <string>",
    "#include <vector>",
    "",
    "namespace inv {",
    "",
    "struct Example {",
    "    std::string prompt;",
    "    std::string completion;",
    "};",
    "",
    ...enums,
    "",
    "// The options of train(), as the addon receives them.",
    "struct Options {",
    ...options.map(([js, s]) => structField(js, s, true)),
    "};",
    "",
    "// What train() returns.",
    "struct Result {",
    ...results.map(([js, s]) => structField(js, s, false)),
    "};",
    "",
    "// The first option outside its declared range, in words (\"\" when every value is in range).",
    "inline std::string option_range_error(const Options & o) {",
    ...rangeChecks(),
    '    return "";',
    "}",
    "",
    "}  // namespace inv",
    "",
  ].join("\n");
}

function fromJs(js: string, spec: AnySpec): string {
  const key = JSON.stringify(js);
  switch (spec.kind) {
    case "string": return `    opts.${spec.cxx} = js_string(o, ${key}, opts.${spec.cxx});`;
    case "strings": return `    opts.${spec.cxx} = js_strings(o, ${key});`;
    case "examples": return `    opts.${spec.cxx} = js_examples(o, ${key});`;
    case "bool": return `    opts.${spec.cxx} = js_bool(o, ${key}, opts.${spec.cxx});`;
    case "flag": return `    opts.${spec.cxx} = js_choice(o, ${key}, {${spec.choices!.map((c, i) => `{${JSON.stringify(c)}, ${i === 1}}`).join(", ")}}, opts.${spec.cxx}, ${JSON.stringify(spec.choices!.join(", "))});`;
    case "choice": {
      // an old name (alias) is read as the choice it became; the refusal names the current choices only
      const names = [...spec.choices!.map((c) => [c, c]), ...Object.entries(spec.aliases ?? {})];
      return `    opts.${spec.cxx} = js_choice(o, ${key}, {${names.map(([n, c]) => `{${JSON.stringify(n)}, ${spec.cxxEnum}::${enumMember(c!)}}`).join(", ")}}, opts.${spec.cxx}, ${JSON.stringify(spec.choices!.join(", "))});`;
    }
    case "int": case "int64": case "uint32": case "float": case "double":
      return `    opts.${spec.cxx} = js_number<${CXX_TYPE[spec.kind]}>(o, ${key}, opts.${spec.cxx}, ${spec.kind === "float" || spec.kind === "double" ? "false" : "true"});`;
  }
  throw new Error(`unknown kind ${spec.kind}`);
}

function toJs(js: string, spec: AnySpec): string {
  const value = spec.kind === "int64" ? `(double) r.${spec.cxx}` : `r.${spec.cxx}`;
  return `    out.Set(${JSON.stringify(js)}, ${value});`;
}

export function includeText(): string {
  return [
    HEADER + "// Included by js_options.cpp, which defines js_string, js_strings, js_examples, js_bool, js_number and js_choice.",
    "",
    "Options options_from_js(const Napi::Object & o) {",
    "    Options opts;",
    ...options.map(([js, s]) => fromJs(js, s)),
    "    return opts;",
    "}",
    "",
    "Napi::Object result_to_js(Napi::Env env, const Result & r) {",
    "    Napi::Object out = Napi::Object::New(env);",
    ...results.map(([js, s]) => toJs(js, s)),
    "    return out;",
    "}",
    "",
  ].join("\n");
}

export const GENERATED: [string, () => string][] = [
  [join(SRC, "contract.generated.h"), headerText],
  [join(SRC, "contract.generated.inc"), includeText],
];

if (require.main === module) {
  const check = process.argv.includes("--check");
  let stale = false;
  for (const [path, text] of GENERATED) {
    const want = text();
    const have = (() => {
      try {
        return readFileSync(path, "utf8");
      } catch {
        return null;
      }
    })();
    if (have === want) continue;
    if (check) {
      console.error(`${path} is out of date: run node --import tsx scripts/gen-trainer-contract.ts`);
      stale = true;
    } else {
      writeFileSync(path, want);
      console.log(`wrote ${path}`);
    }
  }
  process.exit(stale ? 1 : 0);
}
