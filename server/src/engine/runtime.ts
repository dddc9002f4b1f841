// The model runtime: the one place that talks to node-llama-cpp.
import { open, stat } from "node:fs/promises";
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { checkGgufHeader, GgufHeaderError } from "./gguf/headerCheck";
import { isHuggingFaceRef, isRemoteModelRef, modelRefProblem } from "../../../common/modelRef";
import type { Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from "node-llama-cpp" with { "resolution-mode": "import" };

export { NODE_LLAMA_CPP_VERSION } from "./versions";
import { NODE_LLAMA_CPP_VERSION } from "./versions";

export type GpuSetting = "auto" | "off";

export interface RuntimeOptions {
  /** Local .gguf path, or an `hf:` / https URI that node-llama-cpp can resolve. */
  modelPath: string;
  gpu?: GpuSetting;
  /** Threads for evaluation; default {@link defaultThreads}. */
  threads?: number;
  contextSize?: number;
  /** Where `hf:` models are downloaded to. */
  modelsDirectory?: string;
  signal?: AbortSignal;
  onProgress?: (message: string, fraction?: number) => void;
}

export class ModelError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(hint ? `${message}\n${hint}` : message);
    this.name = "ModelError";
  }
}

type NodeLlamaCpp = typeof import("node-llama-cpp", { with: { "resolution-mode": "import" } });
let nlcPromise: Promise<NodeLlamaCpp> | undefined;

/** node-llama-cpp is ESM-only; a dynamic import keeps the CJS bundles working. */
export function nodeLlamaCpp(): Promise<NodeLlamaCpp> {
  nlcPromise ??= import("node-llama-cpp").catch((err: unknown) => {
    nlcPromise = undefined;
    throw new ModelError(`node-llama-cpp could not be loaded: ${(err as Error).message}`, "Run `npm ci` in the Inversion folder.");
  });
  return nlcPromise;
}

/** Physical cores where /proc/cpuinfo tells them, else logical CPUs. */
export function physicalCores(): number {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    const cores = new Set<string>();
    let physical = "0";
    for (const line of info.split("\n")) {
      const [key, value] = line.split(":").map((s) => s?.trim());
      if (key === "physical id") physical = value ?? "0";
      if (key === "core id") cores.add(`${physical}:${value}`);
    }
    if (cores.size > 0) return cores.size;
  } catch {
    // not Linux
  }
  return Math.max(1, cpus().length);
}

/**
 * Tiny models spend their time in ggml's thread barrier, not in math: one thread is an order of magnitude faster
 * for them. Everything else gets one thread per physical core.
 */
export function defaultThreads(modelBytes: number): number {
  return modelBytes < 64 * 1024 * 1024 ? 1 : physicalCores();
}

let llamaPromise: { gpu: GpuSetting; threads: number; llama: Promise<Llama> } | undefined;

async function getLlamaOnce(gpu: GpuSetting, threads: number): Promise<Llama> {
  if (llamaPromise && llamaPromise.gpu === gpu && llamaPromise.threads >= threads) return llamaPromise.llama;
  const nlc = await nodeLlamaCpp();
  const load = async (): Promise<Llama> => {
    if (gpu === "off") return nlc.getLlama({ gpu: false, build: "never", maxThreads: threads, progressLogs: false });
    try {
      return await nlc.getLlama({ gpu: "auto", build: "never", maxThreads: threads, progressLogs: false });
    } catch {
      return nlc.getLlama({ gpu: false, build: "never", maxThreads: threads, progressLogs: false });
    }
  };
  llamaPromise = { gpu, threads, llama: load() };
  return llamaPromise.llama;
}

/**
 * node-llama-cpp's downloader (ipull) retries a failed request 150 times, about 12 minutes, and takes no limit. So the
 * host must first answer one request in DOWNLOAD_TRIES tries (DOWNLOAD_TRY_MS each), and the download is given up
 * once no data has arrived for DOWNLOAD_STALL_MS.
 */
export const DOWNLOAD_TRIES = 3;
const DOWNLOAD_TRY_MS = 15_000;
const DOWNLOAD_STALL_MS = 60_000;

/** Resolves `hf:`/URL model references to a local file; offline, fails with how to pass a local file instead. */
export async function resolveModelPath(ref: string, opts: Pick<RuntimeOptions, "modelsDirectory" | "signal" | "onProgress">): Promise<string> {
  const refused = modelRefProblem(ref);
  if (refused) throw new ModelError(refused, "Pass a local .gguf file, an hf: URI or an https:// URL.");
  if (!isRemoteModelRef(ref)) return ref;
  const nlc = await nodeLlamaCpp();
  const offlineHint =
    "If this machine is offline, download the .gguf file elsewhere and pass its local path (--model /path/to/model.gguf, or the inversion.model setting).";
  const host = isHuggingFaceRef(ref) ? "huggingface.co" : new URL(ref).hostname;
  // An unresolvable host is answered at once, a host that does not answer after a few tries in seconds.
  if (!(await hostResolves(host))) throw new ModelError(`Could not download ${ref}: cannot resolve ${host}.`, offlineHint);
  const silence = await hostSilence(isHuggingFaceRef(ref) ? `https://${host}/` : ref, opts.signal);
  if (silence) throw new ModelError(`Could not download ${ref}: ${host} did not answer in ${DOWNLOAD_TRIES} tries (${silence}).`, offlineHint);
  try {
    return await withStallLimit(
      (signal, progressed) =>
        nlc.resolveModelFile(ref, {
          directory: opts.modelsDirectory,
          cli: false,
          signal,
          onProgress: ({ totalSize, downloadedSize }) => {
            progressed();
            opts.onProgress?.(`downloading ${ref}`, totalSize > 0 ? downloadedSize / totalSize : undefined);
          },
        }),
      opts.signal,
    );
  } catch (err) {
    if (opts.signal?.aborted) throw new ModelError(`Download of ${ref} was cancelled.`);
    throw new ModelError(`Could not download ${ref}: ${(err as Error).message}`, offlineHint);
  }
}

/** Why `url` gave no HTTP answer in DOWNLOAD_TRIES tries (the last failure), or null once it answers (any status). */
async function hostSilence(url: string, signal?: AbortSignal): Promise<string | null> {
  let reason = "";
  for (let attempt = 1; attempt <= DOWNLOAD_TRIES; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, 500 * attempt));
    const trySignal = AbortSignal.any([AbortSignal.timeout(DOWNLOAD_TRY_MS), ...(signal ? [signal] : [])]);
    try {
      const answer = await fetch(url, { method: "HEAD", signal: trySignal });
      await answer.body?.cancel();
      return null;
    } catch (err) {
      if (signal?.aborted) return null; // the download reports the cancel
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      reason = trySignal.aborted ? `no answer in ${DOWNLOAD_TRY_MS / 1000} s` : (cause?.code ?? cause?.message ?? (err as Error).message);
    }
  }
  return reason;
}

/**
 * Runs `download` with a signal that is aborted, and fails, once `progressed` has not been called for `stallMs` (from
 * the start, then from each call): a download that receives nothing for that long is given up, not retried for ever.
 */
export async function withStallLimit<T>(
  download: (signal: AbortSignal, progressed: () => void) => Promise<T>,
  outer?: AbortSignal,
  stallMs = DOWNLOAD_STALL_MS,
): Promise<T> {
  const stall = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let giveUp: (err: Error) => void = () => undefined;
  const stalled = new Promise<never>((_, reject) => (giveUp = reject));
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stall.abort();
      giveUp(new Error(`no data arrived for ${stallMs / 1000} s, so the download was given up`));
    }, stallMs);
  };
  arm();
  try {
    const signal = outer ? AbortSignal.any([outer, stall.signal]) : stall.signal;
    return await Promise.race([download(signal, arm), stalled]);
  } finally {
    clearTimeout(timer);
  }
}

async function hostResolves(host: string, timeoutMs = 5000): Promise<boolean> {
  const { lookup } = await import("node:dns/promises");
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  try {
    return await Promise.race([lookup(host).then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Checks a local model file before handing it to llama.cpp, whose own errors are terse. */
export async function checkModelFile(path: string): Promise<{ bytes: number; architecture: string; chatTemplate?: string }> {
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new ModelError(`Model path is not a file: ${path}`);
    size = st.size;
  } catch (err) {
    if (err instanceof ModelError) throw err;
    throw new ModelError(`Model file not found: ${path}`, "Pass a local .gguf file or an hf: URI.");
  }
  // A file shorter than the magic but starting like it (empty, or cut short) is left to the header walk to name.
  if (!GGUF_MAGIC.startsWith(await fileStart(path, GGUF_MAGIC.length))) {
    throw new ModelError(`Not a GGUF model file: ${path}`, "Inversion loads llama.cpp GGUF models (.gguf).");
  }
  try {
    checkGgufHeader(path, size);
  } catch (err) {
    if (err instanceof GgufHeaderError && err.incomplete) throw new ModelError(`${path} is not a GGUF model: ${err.message}; download it again.`);
    throw new ModelError(`Corrupt or truncated GGUF file ${path}: ${(err as Error).message}.`);
  }
  const nlc = await nodeLlamaCpp();
  let metadata: Record<string, unknown>;
  try {
    const info = await nlc.readGgufFileInfo(path, { readTensorInfo: true, logWarnings: false });
    metadata = info.metadata as unknown as Record<string, unknown>;
    // llama.cpp checks each tensor's full extent itself; this catches files cut inside the tensor table.
    if ((info.tensorInfo ?? []).some((t) => Number(t.fileOffset) > size)) throw new Error("tensor data runs past the end of the file");
  } catch (err) {
    throw new ModelError(`Corrupt or truncated GGUF file ${path}: ${(err as Error).message}`);
  }
  const general = (metadata.general ?? {}) as { architecture?: unknown };
  // node-llama-cpp reads general.architecture unchecked ("Cannot read properties of undefined").
  if (typeof general.architecture !== "string") {
    throw new ModelError(`${path} is not a GGUF model llama.cpp can load: its metadata names no architecture (general.architecture); download it again.`);
  }
  const tokenizer = (metadata.tokenizer ?? {}) as { chat_template?: string };
  return { bytes: size, architecture: general.architecture, chatTemplate: tokenizer.chat_template };
}

const GGUF_MAGIC = "GGUF";

/** The first `bytes` bytes of the file (fewer when it is shorter), as latin1 text. */
async function fileStart(path: string, bytes: number): Promise<string> {
  const fh = await open(path, "r");
  try {
    const head = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(head, 0, bytes, 0);
    return head.toString("latin1", 0, bytesRead);
  } finally {
    await fh.close();
  }
}

export interface LoadedModel {
  llama: Llama;
  model: LlamaModel;
  path: string;
  threads: number;
  contextSize: number;
  hasChatTemplate: boolean;
}

export async function loadModel(opts: RuntimeOptions): Promise<LoadedModel> {
  opts.onProgress?.("resolving model");
  const path = await resolveModelPath(opts.modelPath, opts);
  const file = await checkModelFile(path);
  const threads = opts.threads && opts.threads > 0 ? opts.threads : defaultThreads(file.bytes);
  opts.onProgress?.("starting llama.cpp");
  const llama = await getLlamaOnce(opts.gpu ?? "auto", threads);
  opts.onProgress?.(`loading ${path}`, 0);
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: path,
      loadSignal: opts.signal,
      onLoadProgress: (p) => opts.onProgress?.(`loading ${path}`, p),
    });
  } catch (err) {
    if (opts.signal?.aborted) throw new ModelError("Model loading was cancelled.");
    throw new ModelError(
      `llama.cpp could not load ${path} (architecture "${file.architecture}"): ${(err as Error).message}`,
      `node-llama-cpp ${NODE_LLAMA_CPP_VERSION} supports the architectures of its bundled llama.cpp; check the file is a complete, supported GGUF.`,
    );
  }
  const trainCtx = model.trainContextSize;
  return { llama, model, path, threads, contextSize: Math.min(opts.contextSize ?? 1024, trainCtx), hasChatTemplate: !!file.chatTemplate };
}

/**
 * A context with N parallel sequences, handed out singly or several at once (all or none, first come first served,
 * so callers never hold some while waiting for more). Given the tokens it will evaluate, a caller gets the free
 * sequences whose cached state shares the longest prefix with them.
 */
export class SequencePool {
  private readonly all: LlamaContextSequence[] = [];
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiting: { count: number; prefer?: Token[]; grant: (s: LlamaContextSequence[]) => void }[] = [];

  private constructor(readonly context: LlamaContext) {}

  static async create(m: LoadedModel, sequences: number, adapterPath: string | null): Promise<SequencePool> {
    let context: LlamaContext;
    try {
      context = await m.model.createContext({
        contextSize: m.contextSize,
        sequences,
        // never fewer threads while another context decodes: on CPU some kernels split their sums by thread
        threads: { ideal: m.threads, min: m.threads },
        lora: adapterPath ? { adapters: [{ filePath: adapterPath }] } : undefined,
        batching: { itemPrioritizationStrategy: "maximumParallelism" },
      });
    } catch (err) {
      if (adapterPath) throw new ModelError(`Could not load the LoRA adapter ${adapterPath}: ${(err as Error).message}`, "Is it an adapter made for this model?");
      throw err;
    }
    const pool = new SequencePool(context);
    for (let i = 0; i < sequences; i++) pool.all.push(context.getSequence());
    pool.free.push(...pool.all);
    return pool;
  }

  get size(): number {
    return this.context.totalSequences;
  }

  /** The sequence's id in its context: a fresh context hands out 0, 1, 2… in the order the pool took them. */
  idOf(seq: LlamaContextSequence): number {
    return this.all.indexOf(seq);
  }

  /** Input tokens evaluated on all sequences so far (node-llama-cpp's token meter; sampled tokens fed back are not counted). */
  get evaluatedTokens(): number {
    return this.all.reduce((sum, seq) => sum + seq.tokenMeter.usedInputTokens, 0);
  }

  use<T>(fn: (seq: LlamaContextSequence) => Promise<T>, prefer?: Token[]): Promise<T> {
    return this.useMany(1, (seqs) => fn(seqs[0]!), prefer);
  }

  /** Runs `fn` holding `count` sequences (at most the pool's size), the best match for `prefer` first. */
  async useMany<T>(count: number, fn: (seqs: LlamaContextSequence[]) => Promise<T>, prefer?: Token[]): Promise<T> {
    const n = Math.max(1, Math.min(count, this.size));
    const seqs =
      this.waiting.length === 0 && this.free.length >= n
        ? this.take(n, prefer)
        : await new Promise<LlamaContextSequence[]>((grant) => this.waiting.push({ count: n, prefer, grant }));
    try {
      return await fn(seqs);
    } finally {
      this.free.push(...seqs);
      for (let head = this.waiting[0]; head && this.free.length >= head.count; head = this.waiting[0]) {
        this.waiting.shift();
        head.grant(this.take(head.count, head.prefer));
      }
    }
  }

  /** Clears every sequence (with `clear`) and hands them out in their first order again; all must be free. */
  async reset(clear: (seq: LlamaContextSequence) => Promise<void>): Promise<void> {
    if (this.free.length !== this.all.length || this.waiting.length > 0) throw new Error("A sequence pool was reset while in use.");
    await Promise.all(this.all.map(clear));
    this.free.splice(0, this.free.length, ...this.all);
  }

  private take(n: number, prefer?: Token[]): LlamaContextSequence[] {
    if (prefer) {
      const shared = new Map(this.free.map((s) => [s, s.compareContextTokens(prefer).firstDifferentIndex]));
      this.free.sort((a, b) => shared.get(a)! - shared.get(b)!);
    }
    return this.free.splice(this.free.length - n, n).reverse();
  }

  async dispose(): Promise<void> {
    await this.context.dispose();
  }
}
