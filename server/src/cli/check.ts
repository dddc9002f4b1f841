// `inversion check FILE…`: the editor's comment warnings from the command line, shellcheck-style, for CI and
// pre-commit. Exit 1 when any warning is found, 0 otherwise; `inversion check --model M` alone prints the self-check.
import { MAX_COMMAND_CHARS, type Engine } from "../engine/api";
import { loadShellParser } from "../shell/parser";
import { defaultModelPath } from "../knowledge/shipped";
import type { Finding } from "../check/findings";
import { checkScript } from "../check/lint";
import { groundedSource, shippedGrounding, type Grounding } from "../check/grounded";
import { selfCheck, selfCheckSentence, type SelfCheckResult } from "../check/selfCheck";
import { DEFAULT_SETTINGS } from "../../../common/protocol";
import { oneOf, type Values } from "./args";
import { withEngine } from "./commands";
import { readRegularText } from "./inputFile";

export interface FileReport {
  file: string;
  /** Commands with a comment that were checked. */
  commented: number;
  findings: Finding[];
  /** Why the file was not checked (unreadable). */
  error?: string;
}

export async function cmdCheck(v: Values, files: string[]): Promise<number> {
  const format = oneOf(typeof v.format === "string" ? v.format : undefined, "format", ["text", "json"] as const, "text");
  v.model ??= process.env.INVERSION_MODEL || defaultModelPath() || undefined;
  const grounding = shippedGrounding(() => loadShellParser());
  if ("error" in grounding) {
    process.stderr.write(`inversion: comment checks are unavailable: ${grounding.error}\n`);
    return 2;
  }
  return withEngine(v, async (engine) => {
    const check = await selfCheck(groundedSource(grounding));
    const reports: FileReport[] = [];
    for (const file of files) reports.push(await checkFile(engine, grounding, check, file));
    process.stdout.write(format === "json" ? JSON.stringify(jsonReport(engine, check, reports), null, 2) + "\n" : textReport(check, reports, files.length === 0));
    const failed = reports.some((r) => r.error || r.findings.some((f) => f.severity === "warning"));
    return failed ? 1 : 0;
  });
}

async function checkFile(engine: Engine, grounding: Grounding, check: SelfCheckResult, file: string): Promise<FileReport> {
  let text: string;
  try {
    // Regular files within the editor's limit only: a FIFO blocked for ever, /dev/zero ran out of string length.
    text = await readRegularText(file, DEFAULT_SETTINGS.maxFileBytes);
  } catch (err) {
    return { file, commented: 0, findings: [], error: (err as Error).message };
  }
  const parser = await loadShellParser();
  const readingOf = (command: string, signal?: AbortSignal): Promise<string> => engine.invert(command, { signal });
  const r = await checkScript(parser, text, { grounding, check, readingOf, maxCommandChars: MAX_COMMAND_CHARS });
  return { file, ...r };
}

/** `file:line:col: severity: message [code]`, 1-based, one per finding; the self-check goes to stderr. */
export function formatFinding(file: string, f: Finding): string {
  return `${file}:${f.line + 1}:${f.col + 1}: ${f.severity}: ${f.message} [${f.code}]`;
}

function textReport(check: SelfCheckResult, reports: FileReport[], selfCheckOnly: boolean): string {
  const lines: string[] = [];
  if (selfCheckOnly) lines.push(selfCheckSentence(check));
  else if (!check.fit) process.stderr.write(`inversion: ${selfCheckSentence(check)}\n`);
  for (const r of reports) {
    if (r.error) lines.push(`${r.file}: error: ${r.error}`);
    for (const f of r.findings) lines.push(formatFinding(r.file, f));
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}

function jsonReport(engine: Engine, check: SelfCheckResult, reports: FileReport[]): object {
  return {
    model: engine.modelPath,
    adapter: engine.adapterPath,
    selfCheck: { auc: check.auc, floor: check.floor, fit: check.fit, summary: selfCheckSentence(check) },
    files: reports.map((r) => ({ ...r, findings: r.findings.map((f) => ({ ...f, line: f.line + 1, col: f.col + 1, endLine: f.endLine + 1, endCol: f.endCol + 1 })) })),
  };
}
