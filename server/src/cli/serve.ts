// `inversion serve`: a GGUF model behind the OpenAI-compatible subset the remote backend speaks (serve/server.ts).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { SERVE_API_KEY_ENV, bindProblem, startServer } from "../serve/server";
import { UsageError, modelOf, num, param, type Values } from "./args";
import { requireInputFile } from "./inputFile";
import { isRemoteModelRef } from "../../../common/modelRef";

const USAGE =
  "Usage: inversion serve [--model M] [--host 127.0.0.1] [--port 8000] [--name NAME] [--sequences N] [--context N]\n" +
  "                       [--lora NAME=ADAPTER.gguf,…] [--lora-dir DIR] [--allow-network] [--tls-cert FILE --tls-key FILE]";

/** name=path pairs of --lora, comma-separated. */
function adapters(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0 || eq === part.length - 1) throw new UsageError(`--lora takes NAME=ADAPTER.gguf (comma-separated for several), got "${part}". ${USAGE}`);
    out[part.slice(0, eq)] = resolve(part.slice(eq + 1));
  }
  return out;
}

export async function cmdServe(v: Values): Promise<number> {
  const host = v.host ?? "127.0.0.1";
  const refused = bindProblem(host, v["allow-network"] ?? false);
  if (refused) throw new UsageError(refused);
  if (!!v["tls-cert"] !== !!v["tls-key"]) throw new UsageError(`--tls-cert and --tls-key go together. ${USAGE}`);
  const port = num(v.port, "port", 8000);
  if (port < 0 || port > 65535) throw new UsageError("--port must be from 0 to 65535.");
  const sequences = num(v.sequences, "sequences", 8);
  if (sequences < 1 || sequences > 64) throw new UsageError("--sequences must be from 1 to 64.");
  const contextSize = v.context === undefined ? undefined : num(v.context, "context", 4096);
  if (contextSize !== undefined && (contextSize < 64 || contextSize > 1 << 20)) throw new UsageError("--context must be from 64 to 1048576.");
  const model = modelOf(v);
  if (!isRemoteModelRef(model)) await requireInputFile(model, v.model ? "--model" : "$INVERSION_MODEL");
  const apiKey = process.env[SERVE_API_KEY_ENV] || undefined;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "::1" && !apiKey) {
    process.stderr.write(`inversion serve: warning: serving ${host} without ${SERVE_API_KEY_ENV}: anyone who reaches it can use it.\n`);
  }
  const server = await startServer({
    modelPath: model,
    gpu: param(v, "gpu"),
    threads: param(v, "threads"),
    contextSize,
    sequences,
    host,
    port,
    allowNetwork: v["allow-network"] ?? false,
    apiKey,
    tls: v["tls-cert"] ? { cert: readFileSync(v["tls-cert"]), key: readFileSync(v["tls-key"]!) } : undefined,
    name: v.name,
    adapters: adapters(v.lora),
    loraDir: v["lora-dir"],
    log: (line) => process.stderr.write(`inversion serve: ${line}\n`),
  });
  process.stdout.write(`${server.url}\n`);
  await new Promise<void>((resolvePromise) => {
    const stop = (): void => {
      process.stderr.write("inversion serve: stopping\n");
      void server.close().then(resolvePromise);
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  return 0;
}
