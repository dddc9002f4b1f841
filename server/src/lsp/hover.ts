// The hover: the model's whole reading, a verdict in words, optional sections from other sources (e.g. a man-page
// summary), then the numbers folded into a details section with a link to how scoring works.
import type { CommandScore } from "../../../common/protocol";
import { judgeComment, type Verdict } from "../check/calibration";
import { ruleDocsUrl } from "../check/findings";
import { selfCheckSentence, type SelfCheckResult } from "../check/selfCheck";

export interface HoverInput {
  score: CommandScore;
  /** null while the self-check is still running. */
  check: SelfCheckResult | null;
  /** Markdown sections placed between the verdict and the details (e.g. the man page's summary). */
  sections?: string[];
}

const VERDICT_TEXT: Record<Verdict, string> = {
  matches: "✓ This matches the comment.",
  differs: "⚠ The model reads this differently from the comment.",
  unsure: "The model is unsure whether this matches the comment.",
};

function mdEscape(s: string): string {
  return s.replace(/([\\`*_{}[\]()#+\-.!|<>])/g, "\\$1");
}

export function verdictLine(score: CommandScore, check: SelfCheckResult | null): string | null {
  if (check && !check.fit) return `_The model is unsure: it failed its self-check, so its reading may not mean much._`;
  if (!score.intent) return null;
  const lift = score.agreement?.parts.liftBitsPerToken;
  if (!check || lift === undefined) return VERDICT_TEXT.unsure;
  return VERDICT_TEXT[judgeComment(lift, check).verdict];
}

function details(score: CommandScore): string {
  const parts: string[] = [];
  const bits = (v: number | undefined): string => (v === undefined ? "n/a" : `${v.toFixed(2)} bits/token`);
  if (score.agreement) parts.push(`comment support ${bits(score.agreement.parts.liftBitsPerToken)} (score ${score.agreement.value.toFixed(2)})`);
  if (score.fidelity) parts.push(`reading support ${bits(score.fidelity.parts.liftBitsPerToken)} (score ${score.fidelity.value.toFixed(2)})`);
  const numbers = parts.length ? parts.join(" · ") : "no scores";
  return `<sub>Details: ${numbers}. [How scoring works](${ruleDocsUrl().replace(/#.*$/, "")})</sub>`;
}

function footer(score: CommandScore, check: SelfCheckResult | null): string {
  const model = score.adapterPath ? `adapter ${mdEscape(score.adapterPath.split(/[\\/]/).pop() ?? "")}` : "base model";
  const fitness = check ? selfCheckSentence(check) : "The model's self-check is still running.";
  return `<sub>${fitness} (${model})</sub>`;
}

export function hoverMarkdown({ score, check, sections = [] }: HoverInput): string {
  const reading = score.reading.trim();
  const out = [
    `**Inversion** — the model reads this command as: ${reading ? `“${mdEscape(reading)}”` : "_(nothing: it produced no reading)_"}`,
    score.intent ? `Comment: “${mdEscape(score.intent)}”` : "",
    verdictLine(score, check) ?? "",
    ...sections,
    "---",
    details(score),
    footer(score, check),
  ];
  return out.filter(Boolean).join("\n\n");
}

/** Shown when there is no model: why, and the command that fixes it. */
export function noModelHover(reason: string): string {
  return `**Inversion** — ${mdEscape(reason)} [Select a model](command:inversion.selectModel) to see what it reads this command as.`;
}
