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
