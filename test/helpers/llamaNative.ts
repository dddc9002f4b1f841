// Watching or delaying node-llama-cpp's native calls in a test: every context created while `fn` runs answers its
// native methods through `around`.

/**
 * Runs `fn` with each node-llama-cpp context made meanwhile passing every native method call to
 * `around(native, method, args, call)`, which returns what the call returns (`call()` runs the real one). `native`
 * tells the contexts apart.
 */
export async function aroundNativeCalls<T>(
  around: (native: object, method: string, args: unknown[], call: () => unknown) => unknown,
  fn: () => Promise<T>,
): Promise<T> {
  const { LlamaModel } = await import("node-llama-cpp");
  type Context = { _ctx: object };
  const proto = LlamaModel.prototype as unknown as { createContext: (...args: unknown[]) => Promise<Context> };
  const createContext = proto.createContext;
  proto.createContext = async function (this: unknown, ...args: unknown[]): Promise<Context> {
    const context = await createContext.apply(this, args);
    context._ctx = new Proxy(context._ctx, {
      get(native, key) {
        const value: unknown = Reflect.get(native, key);
        if (typeof value !== "function") return value;
        const method = value as (...a: unknown[]) => unknown;
        return (...a: unknown[]) => around(native, String(key), a, () => method.apply(native, a));
      },
    });
    return context;
  };
  try {
    return await fn();
  } finally {
    proto.createContext = createContext;
  }
}

/** One `llama_decode` as node-llama-cpp built it: the sequence of each item added, in order, and the tokens. */
export interface DecodeBatch {
  sequences: number[];
  tokens: number;
}

/**
 * Runs `fn` with every decode of the contexts made meanwhile passed to `around(batch, decode)`, which returns what
 * the decode returns (`decode()` runs the real one).
 */
export function aroundDecodes<T>(around: (batch: DecodeBatch, decode: () => unknown) => unknown, fn: () => Promise<T>): Promise<T> {
  const building = new Map<object, DecodeBatch>();
  return aroundNativeCalls((native, method, args, call) => {
    if (method === "initBatch") building.set(native, { sequences: [], tokens: 0 });
    if (method === "addToBatch") {
      const batch = building.get(native);
      batch?.sequences.push(args[0] as number);
      if (batch) batch.tokens += (args[2] as ArrayLike<number> | undefined)?.length ?? 1;
    }
    if (method !== "decodeBatch") return call();
    return around(building.get(native) ?? { sequences: [], tokens: 0 }, call);
  }, fn);
}
