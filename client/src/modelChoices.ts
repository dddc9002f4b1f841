// What "Inversion: Select model" offers, as data (no `vscode` import, so test/unit/modelChoices.test.ts reads it
// directly): the shipped model first (the way back to it), models already on this machine, a file, a Hugging Face
// download, and where models come from for a user who has none yet.
import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export type ModelChoiceId = "default" | "found" | "file" | "hf" | "browse";

export interface ModelChoice {
  id: ModelChoiceId;
  label: string;
  description?: string;
  detail?: string;
  /** For "found": the model's path. */
  path?: string;
}

/** Where node-llama-cpp (and so Inversion) downloads `hf:` models, and where people often keep them. */
export const MODEL_DIRECTORIES = [join(homedir(), ".node-llama-cpp", "models"), join(homedir(), "models")];

/** A real model URI, as an example of the form. */
export const HF_EXAMPLE = "hf:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q8_0.gguf";

/** Hugging Face's list of GGUF models (llama.cpp's format), opened in the browser on request. */
export const BROWSE_URL = "https://huggingface.co/models?library=gguf&search=coder";

/** `.gguf` files in `dirs` (not recursive, at most `limit`), newest first. */
export function foundModels(dirs: readonly string[] = MODEL_DIRECTORIES, limit = 20): string[] {
  const found: { path: string; time: number }[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    try {
      for (const name of readdirSync(dir)) {
        if (!name.toLowerCase().endsWith(".gguf")) continue;
        const path = join(dir, name);
        const st = statSync(path, { throwIfNoEntry: false });
        if (st?.isFile()) found.push({ path, time: st.mtimeMs });
      }
    } catch {
      // unreadable: nothing from it
    }
  }
  return found.sort((a, b) => b.time - a.time).slice(0, limit).map((f) => f.path);
}

const fileName = (p: string): string => p.split(/[\\/]/).pop() ?? p;

/**
 * The quick pick's items. `current`: the user's inversion.model ("" when unset: the shipped model is in use);
 * `defaultName`: the shipped model's name; `found`: models already on this machine.
 */
export function modelChoices(o: { current: string; defaultName: string; found: readonly string[]; downloads: string }): ModelChoice[] {
  const inUse = (yes: boolean): string => (yes ? " · in use" : "");
  return [
    {
      id: "default",
      label: `$(package) Shipped model: ${o.defaultName}`,
      description: `comes with Inversion${inUse(o.current === "")}`,
      detail: "Made for Inversion, nothing to download. Clears your inversion.model setting.",
    },
    ...o.found.map((path): ModelChoice => ({ id: "found", label: `$(file) ${fileName(path)}`, description: `${path}${inUse(o.current === path)}`, path })),
    {
      id: "file",
      label: "$(folder-opened) A .gguf file on this machine…",
      detail: "GGUF: llama.cpp's model format. No such file yet? Download one (next item).",
    },
    {
      id: "hf",
      label: "$(cloud-download) Download from Hugging Face…",
      detail: `Its hf: URI; downloaded once into ${o.downloads}, then used offline.`,
    },
    {
      id: "browse",
      label: "$(link-external) Where do models come from? Browse GGUF models on Hugging Face",
      detail: "Opens huggingface.co: a model's .gguf file has the URI hf:user/repo/file.gguf",
    },
  ];
}
