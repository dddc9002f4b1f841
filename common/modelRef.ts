// Model references: a local .gguf path, or a URI node-llama-cpp downloads. One definition of which URIs are accepted.

/** Hugging Face URIs (node-llama-cpp's `hf:`, and its long form `huggingface:`) and https URLs. No plain http. */
const REMOTE_MODEL = /^(hf:|huggingface:|https:\/\/)/i;
/** Any URI scheme (two letters or more, so `C:\` stays a path). */
const ANY_URI = /^[a-z][a-z0-9+.-]+:/i;

export function isRemoteModelRef(ref: string): boolean {
  return REMOTE_MODEL.test(ref.trim());
}

export function isHuggingFaceRef(ref: string): boolean {
  return /^(hf|huggingface):/i.test(ref.trim());
}

/** Why a model reference cannot be used as one, or null: other URI schemes (http:, file:, ftp:) are refused. */
export function modelRefProblem(ref: string): string | null {
  const r = ref.trim();
  if (isRemoteModelRef(r) || !ANY_URI.test(r)) return null;
  return `Models are downloaded only from hf: URIs or https:// URLs; "${r.split(":")[0]}:" is not accepted.`;
}
