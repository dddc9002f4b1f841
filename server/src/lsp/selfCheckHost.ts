// Runs the self-check of the grounded comment score once (cached on disk per index content and MANPATH) and reports it.
import { selfCheck, selfCheckSentence, type SelfCheckResult } from "../check/selfCheck";
import { groundedSource, type Grounding } from "../check/grounded";
import type { WorkQueue } from "./workQueue";

export interface SelfCheckSummary {
  auc: number;
  fit: boolean;
  summary: string;
}

export class SelfCheckHost {
  private result: Promise<SelfCheckResult> | undefined;

  constructor(
    private readonly queue: WorkQueue,
    private readonly report: (summary: SelfCheckSummary) => void,
    private readonly log: (message: string) => void,
    private readonly cacheDir?: string,
  ) {}

  /** The self-check of the grounded score (measured at most once; background priority, behind hovers). */
  of(grounding: Grounding): Promise<SelfCheckResult> {
    if (!this.result) {
      const source = groundedSource(grounding);
      // One queue item per score, so hovers interleave with the check (man pages are read on the first ones).
      const queued = { ...source, support: (intent: string, command: string, signal?: AbortSignal) => this.queue.run(1, signal, () => source.support(intent, command, signal)) };
      const p = selfCheck(queued, { cacheDir: this.cacheDir });
      p.then(
        (r) => {
          this.log(`Self-check of comment checks (${r.basis}): AUC ${r.auc.toFixed(3)} (floor ${r.floor})`);
          this.report({ auc: r.auc, fit: r.fit, summary: selfCheckSentence(r) });
        },
        (err: unknown) => {
          this.result = undefined;
          this.log(`Self-check failed: ${(err as Error).message}`);
        },
      );
      this.result = p;
    }
    return this.result;
  }

  /** The result if it is already measured (hovers never wait for it). */
  async ready(grounding: Grounding): Promise<SelfCheckResult | null> {
    return Promise.race([this.of(grounding), new Promise<null>((resolve) => setTimeout(() => resolve(null), 50))]);
  }
}
