// What the VS Code suite (test/vscode) reads that the screen cannot show it. On the API `activate` returns only when
// the extension host runs with INVERSION_TEST_HOOKS=1, which test/vscode/run.ts sets: a user's extension host never
// has them. Everything else the suite reads from the screen (the status bar, notifications) or from the real APIs.
import type { LanguageClient } from "vscode-languageclient/node";
import type { RunView } from "../../common/protocol";
import type { Ctx } from "./ctx";

export const TEST_HOOKS_ENV = "INVERSION_TEST_HOOKS";

export interface TestHooks {
  /** The language client, for requests no command sends with a test's arguments. */
  readonly client: LanguageClient;
  /** Every message shown about a missing model: VS Code shows a repeated notification once, so the screen cannot count them. */
  readonly missingModelMessages: readonly string[];
  /** The newest view of the run started from this window: the run state the status bar shows, with the run directory it does not. */
  run(): RunView | null;
  /** Cancels the run "Run self-improvement cycle" started, as the Cancel button of its notification does (the suite's workbench hides toasts). */
  cancelActiveRun(): boolean;
}

export function testHooks(ctx: Ctx): TestHooks | undefined {
  if (process.env[TEST_HOOKS_ENV] !== "1") return undefined;
  return {
    client: ctx.client,
    missingModelMessages: ctx.missingModelMessages,
    run: () => ctx.live,
    cancelActiveRun: () => {
      if (!ctx.activeRunCancel) return false;
      ctx.activeRunCancel.cancel();
      return true;
    },
  };
}
