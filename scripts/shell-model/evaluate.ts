// Held-out scores of a shell-model checkpoint: greedy commands for description-only tasks, scored by
// first-utility accuracy (the first program named equals the reference's), NLC2CMD and exact match.
import { readFileSync } from "node:fs";
import { loadModel, ModelSession, forwardPrompt, type Shot, cleanCommand, loadShellParser, type ShellParser, nlc2cmdScore, exactMatch, mean } from "../../server/src/engine/api";

interface HeldOutPair {
  task: string;
  command: string;
}

export interface ShellModelScores {
  n: number;
  firstUtility: number;
  nlc2cmd: number;
  exact: number;
  samples: { task: string; reference: string; prediction: string }[];
}

export function firstUtility(command: string, parser: ShellParser): string | null {
  return parser.parseCommand(command).utilities[0]?.name ?? null;
}

/** Held-out scores of one answer per pair: first-utility accuracy, mean NLC2CMD, exact-match rate. */
export function scoreAnswers(pairs: readonly HeldOutPair[], answers: readonly string[], parser: ShellParser): Omit<ShellModelScores, "samples"> {
  const hit = pairs.map((p, i) => {
    const predicted = firstUtility(answers[i]!, parser);
    return predicted !== null && predicted === firstUtility(p.command, parser) ? 1 : 0;
  });
  return {
    n: pairs.length,
    firstUtility: mean(hit),
    nlc2cmd: mean(pairs.map((p, i) => nlc2cmdScore(answers[i]!, p.command, parser))),
    exact: mean(pairs.map((p, i) => (exactMatch(answers[i]!, p.command) ? 1 : 0))),
  };
}

/** Retrieved examples for a held-out task (none: the plain prompt). */
export type ShotsFor = (pair: HeldOutPair) => Shot[];

export async function evaluateShellModel(
  modelPath: string,
  heldOutFile: string,
  opts: { size: number; threads: number; shotsFor?: ShotsFor },
): Promise<ShellModelScores> {
  const pairs = readFileSync(heldOutFile, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as HeldOutPair).slice(0, opts.size);
  const parser = await loadShellParser();
  const loaded = await loadModel({ modelPath, gpu: "off", threads: opts.threads, contextSize: 256 });
  const session = await ModelSession.create(loaded, { sequences: 4 });
  try {
    const predictions: string[] = [];
    for (let i = 0; i < pairs.length; i += 4) {
      const chunk = pairs.slice(i, i + 4);
      predictions.push(...(await Promise.all(chunk.map(async (p) => cleanCommand(await session.complete(forwardPrompt(p.task, opts.shotsFor?.(p) ?? []), { maxTokens: 48 }))))));
    }
    return {
      ...scoreAnswers(pairs, predictions, parser),
      samples: pairs.slice(0, 5).map((p, i) => ({ task: p.task, reference: p.command, prediction: predictions[i]! })),
    };
  } finally {
    await session.dispose();
    await loaded.model.dispose();
  }
}
