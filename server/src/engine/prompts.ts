// Every prompt the engine sends, in one place. `plain` is used for base models without a chat template; the
// training data uses the same plain layout, so a warm-started model sees what it was trained on.

export interface Prompt {
  system: string;
  user: string;
  /** The whole prompt for base models; the answer continues it on the same line. */
  plain: string;
}

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();

/** A retrieved example placed before the question (few-shot): someone's description of a command. */
export interface Shot {
  task: string;
  command: string;
}

/** Shots in the plain layout, most similar last (nearest the question), a blank line after each, as in training. */
function shotBlock(shots: readonly Shot[], line: (shot: Shot) => string): string {
  return [...shots].reverse().map((shot) => `${line(shot)}\n\n`).join("");
}

function shotNote(shots: readonly Shot[], line: (shot: Shot) => string): string {
  return shots.length ? `Examples written by people:\n${[...shots].reverse().map(line).join("\n")}\n\n` : "";
}

const forwardLine = (s: Shot): string => `Task: ${oneLine(s.task)}\nCommand: ${oneLine(s.command)}`;
const inverseLine = (s: Shot): string => `Command: ${oneLine(s.command)}\nTask: ${oneLine(s.task)}`;

/** `shots` are retrieved examples for tasks like this one, nearest first. */
export function forwardPrompt(task: string, shots: readonly Shot[] = []): Prompt {
  return {
    system: "You turn a task into one POSIX shell command. Reply with the command only: no explanation, no code fence.",
    user: `${shotNote(shots, forwardLine)}Task: ${oneLine(task)}`,
    plain: `${shotBlock(shots, forwardLine)}Task: ${oneLine(task)}\nCommand:`,
  };
}

/** `shots` are retrieved examples of commands like this one, nearest first. */
export function inversePrompt(command: string, shots: readonly Shot[] = []): Prompt {
  return {
    system: "You explain shell commands. Reply with one short sentence: the task the command accomplishes.",
    user: `${shotNote(shots, inverseLine)}Command: ${oneLine(command)}`,
    plain: `${shotBlock(shots, inverseLine)}Command: ${oneLine(command)}\nTask:`,
  };
}

/** The answer as it follows a plain prompt ("Command:" + " ls -la"). */
export function answerText(answer: string): string {
  return ` ${oneLine(answer)}`;
}

export function taskWriterPrompt(topic: string): Prompt {
  return {
    system: "You write realistic requests that a user could solve with one shell command. Reply with one request only.",
    user: `Write one short task that needs \`${topic}\`.`,
    plain: `A task for the shell that uses ${topic}.\nTask:`,
  };
}

/** The original experiment's judge, verbatim apart from layout (see docs/SCORING.md). */
export function judgePrompt(task1: string, task2: string): Prompt {
  const body = `Rate how similar these two task descriptions are on a scale of 0 to 10.\nOnly output a single number.\n\nTask 1: ${oneLine(task1)}\nTask 2: ${oneLine(task2)}\n\nSimilarity (0-10):`;
  return { system: "You rate text similarity.", user: body, plain: body };
}

export const DEFAULT_TOPICS = [
  "ls", "find", "grep", "tar", "ps", "df", "du", "chmod", "chown", "curl", "sed", "awk", "sort", "uniq", "head",
  "tail", "wc", "git", "ssh", "kill", "mkdir", "cp", "mv", "rm", "ln", "cat", "diff", "zip", "gzip", "date",
];
