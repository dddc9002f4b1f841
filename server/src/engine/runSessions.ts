// Where a run's sessions come from: this machine's model (node-llama-cpp, session.ts) or a server (remote/), and which
// role runs where. `--backend URL` puts the learner there (tasks, candidates, readings as the learner), and with
// `--backend-for all` (the default) the judge too; `--backend-for learner` keeps the judge on --model here. Training
// always happens here, on --model, so the model is loaded whenever it trains or judges.
import type { InferenceSession } from "./model";
import { ModelSession } from "./session";
import { loadModel, type GpuSetting, type LoadedModel } from "./runtime";
import { BackendError, RemoteBackend, RemoteSession } from "./remote/backend";

export interface RunSessionOptions {
  modelPath: string;
  gpu?: GpuSetting;
  threads?: number;
  contextSize?: number;
  /** The server's address, or undefined for this machine. */
  backend?: string;
  /** What runs on the backend: everything, or the learner only (the judge stays here). */
  backendFor: "all" | "learner";
  sequences: number;
  /** The run trains weights here: the trainer and the fitting of its prompts read the local model. */
  trainsHere: boolean;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

export class RunSessions {
  private constructor(
    /** The local model, when anything needs it (training, a local judge, no backend). */
    readonly loaded: LoadedModel | null,
    /** The base weights as the learner: they write tasks and candidates until the first adapter. */
    readonly learnerBase: InferenceSession,
    /** The base weights as the judge (--judge base). */
    readonly judgeBase: InferenceSession,
    /** A session on the local model that fits training prompts to its context (the trainer's tokenizer). */
    readonly fit: ModelSession | null,
    readonly remote: RemoteBackend | null,
    private readonly local: ModelSession | null,
    private readonly sequences: number,
    private readonly baseModelPath: string,
  ) {}

  static async open(o: RunSessionOptions): Promise<RunSessions> {
    const needsLocal = !o.backend || o.backendFor === "learner" || o.trainsHere;
    const infersHere = !o.backend || o.backendFor === "learner";
    let loaded: LoadedModel | null = null;
    let local: ModelSession | null = null;
    try {
      if (needsLocal) {
        loaded = await loadModel({ modelPath: o.modelPath, gpu: o.gpu, threads: o.threads, contextSize: o.contextSize, signal: o.signal });
        // a session that only fits training prompts needs one sequence
        local = await ModelSession.create(loaded, { sequences: infersHere ? o.sequences : 1 });
      }
      if (!o.backend) return new RunSessions(loaded, local!, local!, local, null, local, o.sequences, o.modelPath);
      const remote = await RemoteBackend.connect(o.backend, { signal: o.signal });
      if (loaded) await sameTokenizer(remote, loaded, o.modelPath);
      o.log?.(`Backend: ${remote.describe()}; ${o.backendFor === "all" ? "the learner and the judge run there" : "the learner runs there, the judge here on " + o.modelPath}.`);
      const learner = remote.session();
      return new RunSessions(loaded, learner, o.backendFor === "all" ? learner : local!, local, remote, local, o.sequences, o.modelPath);
    } catch (err) {
      await local?.dispose();
      await loaded?.model.dispose();
      throw err;
    }
  }

  /** The learner's weights with an adapter: a new local context, or the adapter loaded into the server. */
  async withAdapter(path: string, signal?: AbortSignal): Promise<InferenceSession> {
    if (this.remote) return this.remote.session(await this.remote.loadAdapter(path, { baseModelPath: this.loaded?.path ?? this.baseModelPath, signal }));
    return ModelSession.create(this.loaded!, { sequences: this.sequences, adapterPath: path });
  }

  /** Gives back a session made by withAdapter. */
  async release(session: InferenceSession): Promise<void> {
    if (session === this.learnerBase || session === this.judgeBase) return;
    if (session instanceof RemoteSession) {
      if (session.adapter) await this.remote?.unloadAdapter(session.adapter);
    } else await session.dispose();
  }

  /** Each cycle starts from fresh base sessions (caches cleared). */
  async reset(): Promise<void> {
    await this.judgeBase.reset();
    if (this.learnerBase !== this.judgeBase) await this.learnerBase.reset();
  }

  async dispose(): Promise<void> {
    await this.local?.dispose();
    await this.loaded?.model.dispose();
  }
}

/** The backend must serve --model: the loop trains the local GGUF and loads its adapters into the server. */
async function sameTokenizer(remote: RemoteBackend, loaded: LoadedModel, modelPath: string): Promise<void> {
  const probe = "Task: list the files in /var/log by size\nCommand: ls -lS /var/log";
  const model = loaded.model;
  const bos = model.tokens.shouldPrependBosToken && model.tokens.bos != null ? [model.tokens.bos as number] : [];
  const here = [...bos, ...(model.tokenize(probe) as number[])];
  const there = await remote.tokenize(probe, true);
  if (here.length !== there.length || here.some((t, i) => t !== there[i])) {
    throw new BackendError(
      `The backend (${remote.describe()}) tokenizes text differently from --model ${modelPath}: they must be the same model, since the loop trains --model here and loads its adapters into the server.`,
    );
  }
}

/** A backend failure, with what the run kept and how to go on. */
export function withResumeHint(err: unknown, completeCycles: number | null): unknown {
  if (!(err instanceof BackendError)) return err;
  const kept = completeCycles === null ? "its complete cycles" : `${completeCycles} complete cycle(s)`;
  const out = new BackendError(`${err.message}\nThe run keeps ${kept}; once the backend answers again, continue it with --resume.`, err.status, err.body);
  out.stack = err.stack;
  return out;
}
