// Forward, inverse and scoring for one task: the inner step of every cycle, of hovers and of `inversion score`.
import type { Candidate, GateVerdict, ScoreResult, TaskItem } from "./types";
import { isPending, type InferenceSession } from "./model";
import type { Scorer } from "./scorers";
import type { ParsedCommand, ShellParser } from "../shell/parser";
import { forwardPrompt, inversePrompt, type Shot } from "./prompts";
import { cleanCommand, cleanSentence } from "./text";
import { gatesPass, runGates } from "./gates";
import { NO_SHOTS, type ShotSource } from "./shots";

export interface CandidateOptions {
  candidates: number;
  temperature: number;
  seed: number;
  signal?: AbortSignal;
  /** Retrieved examples for the prompts (none by default). */
  shots?: ShotSource;
  /** Retrieved examples for the judge's readings when they differ from the writer's (a run's memory is the
   * learner's, not the judge's: the judge reads with people's examples only). Defaults to `shots`. */
  judgeShots?: ShotSource;
  /** Offer the nearest example people wrote (from `judgeShots`) as one more candidate (training tasks only). */
  exampleCandidate?: boolean;
}

/** The longest answers generated, in tokens: a command, and a reading of one. */
export const COMMAND_TOKENS = 64;
export const READING_TOKENS = 48;

/** N commands for a task, sampled concurrently on parallel sequences; `shots`: the task's retrieved examples. */
export async function generateCommands(
  session: InferenceSession,
  task: string,
  opts: CandidateOptions,
  shots: readonly Shot[] = (opts.shots ?? NO_SHOTS).forTask(task),
): Promise<{ raw: string; command: string }[]> {
  const fitted = session.withShots((s) => forwardPrompt(task, s), shots, COMMAND_TOKENS);
  const prompt = isPending(fitted) ? await fitted : fitted;
  const raws = await session.completeMany(prompt, opts.candidates, {
    temperature: opts.temperature,
    seed: opts.seed,
    maxTokens: COMMAND_TOKENS,
    signal: opts.signal,
  });
  return raws.map((raw) => ({ raw, command: cleanCommand(raw) }));
}

/** The model's greedy reading of a command: what users see in hovers. */
export async function invertCommand(session: InferenceSession, command: string, signal?: AbortSignal, shots: ShotSource = NO_SHOTS): Promise<string> {
  const fitted = session.withShots((s) => inversePrompt(command, s), shots.forCommand(command), READING_TOKENS);
  const prompt = isPending(fitted) ? await fitted : fitted;
  return cleanSentence(await session.complete(prompt, { maxTokens: READING_TOKENS, signal }));
}

export interface ScoredCommand {
  reconstruction: string;
  score: ScoreResult;
  altScores: Record<string, ScoreResult>;
  gates: GateVerdict[];
}

/** Gates, inverse and score(s) of one (task, command) pair. */
export async function scoreCommand(
  session: InferenceSession,
  scorers: { main: Scorer; others: Scorer[]; scorerSession?: InferenceSession },
  parser: ShellParser,
  task: string,
  command: string,
  signal?: AbortSignal,
  /** What the caller already has of this command: a reading by the same model, its parse (hovers reuse both). */
  known: { reconstruction?: string; parsed?: ParsedCommand } = {},
  shots: ShotSource = NO_SHOTS,
): Promise<ScoredCommand> {
  const gates = runGates(parser, task, command, known.parsed);
  const judge = scorers.scorerSession ?? session;
  const reconstruction = known.reconstruction ?? (command ? await invertCommand(judge, command, signal, shots) : "");
  const input = { task, command, reconstruction };
  const score = await scorers.main.score(judge, input, signal);
  const altScores: Record<string, ScoreResult> = {};
  for (const s of scorers.others) altScores[s.name] = await s.score(judge, input, signal);
  return { reconstruction, score, altScores, gates };
}

function nearestExample(task: string, opts: CandidateOptions): { raw: string; command: string; example: { task: string } } | null {
  const nearest = (opts.judgeShots ?? opts.shots ?? NO_SHOTS).forTask(task)[0];
  return nearest ? { raw: nearest.command, command: nearest.command, example: { task: nearest.task } } : null;
}

export async function candidatesForTask(
  session: InferenceSession,
  scorers: { main: Scorer; others: Scorer[]; scorerSession?: InferenceSession },
  parser: ShellParser,
  task: TaskItem,
  meta: { cycle: number; phase: Candidate["phase"]; threshold: number },
  opts: CandidateOptions,
): Promise<Candidate[]> {
  const taskShots = (opts.shots ?? NO_SHOTS).forTask(task.text);
  const judgeShots = opts.judgeShots ?? opts.shots;
  const generated: { raw: string; command: string; example?: { task: string }; given?: true }[] = await generateCommands(session, task.text, opts, taskShots);
  if (opts.exampleCandidate) {
    // a task read back from a real command is offered that command; a written task, the nearest example people wrote
    const offered = task.origin ? { raw: task.origin, command: cleanCommand(task.origin), given: true as const } : nearestExample(task.text, opts);
    if (offered && offered.command && !generated.some((g) => g.command === offered.command)) generated.push(offered);
  }
  return Promise.all(
    generated.map(async ({ raw, command, example, given }) => {
      const s = await scoreCommand(session, scorers, parser, task.text, command, opts.signal, {}, judgeShots);
      const passed = gatesPass(s.gates);
      const rejectReason = !passed
        ? s.gates.filter((g) => !g.pass).map((g) => `${g.gate}: ${g.reason}`).join("; ")
        : s.score.value < meta.threshold
          ? `score ${s.score.value.toFixed(3)} is under the threshold ${meta.threshold}`
          : undefined;
      return {
        cycle: meta.cycle,
        phase: meta.phase,
        taskId: task.id,
        task: task.text,
        command,
        raw,
        ...(example ? { example } : {}),
        ...(given ? { given } : {}),
        reconstruction: s.reconstruction,
        score: s.score,
        altScores: Object.keys(s.altScores).length ? s.altScores : undefined,
        gates: s.gates,
        accepted: false,
        rejectReason,
      };
    }),
  );
}
