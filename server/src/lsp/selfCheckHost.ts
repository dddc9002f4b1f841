// Runs the model self-check once per loaded model (cached on disk per model and adapter content) and reports it.
import type { Engine } from "../engine/api";
import { selfCheck, selfCheckSentence, type LiftSource, type SelfCheckResult } from "../check/selfCheck";
import type { WorkQueue } from "./workQueue";

export interface SelfCheckSummary {
  auc: number;
  fit: boolean;
  summary: string;
}

export class SelfCheckHost {
  private readonly results = new WeakMap<Engine, Promise<SelfCheckResult>>();

  constructor(
    private readonly queue: WorkQueue,
    private readonly report: (summary: SelfCheckSummary) => void,
    private readonly log: (message: string) => void,
    private readonly cacheDir?: string,
  ) {}

  /** The self-check of this engine (measured at most once; background priority, behind hovers). */
  of(engine: Engine): Promise<SelfCheckResult> {
    let p = this.results.get(engine);
    if (!p) {
      // One queue item per score, so hovers interleave with a self-check of a big model.
      const queued: LiftSource = {
        modelPath: engine.modelPath,
        adapterPath: engine.adapterPath,
        score: (task, command, ctl) => this.queue.run(1, ctl.signal, () => engine.score(task, command, ctl)),
      };
      p = selfCheck(queued, { cacheDir: this.cacheDir });
      p.then(
        (r) => {
          this.log(`Self-check of ${engine.modelPath}${engine.adapterPath ? ` + ${engine.adapterPath}` : ""}: AUC ${r.auc.toFixed(3)} (floor ${r.floor})`);
          this.report({ auc: r.auc, fit: r.fit, summary: selfCheckSentence(r) });
        },
        (err: unknown) => this.log(`Self-check failed: ${(err as Error).message}`),
      );
      this.results.set(engine, p);
    }
    return p;
  }
}
