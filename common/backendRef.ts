// A remote backend's address (`--backend URL`, the user setting inversion.backend): one definition of which URLs are
// accepted, for the client, the server and the CLI. Pure; no imports.

/** The environment variable whose value is sent as the backend's API key (`Authorization: Bearer …`). */
export const BACKEND_API_KEY_ENV = "INVERSION_BACKEND_API_KEY";

/** Host names that never leave this machine: plain http is accepted only for them. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h) || h === "::ffff:127.0.0.1";
}

/**
 * Why `text` cannot be a backend's address, or null. https anywhere; http only on loopback (127.0.0.0/8, ::1,
 * localhost), so prompts and the API key never cross a network in the clear. No credentials, query or fragment in
 * the URL: the key comes from the environment.
 */
export function backendUrlProblem(text: string): string | null {
  const t = text.trim();
  let url: URL;
  try {
    url = new URL(t);
  } catch {
    return `"${t}" is not a URL: give the server's address, e.g. https://gpu-box:8000 or http://127.0.0.1:8000.`;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return `A backend is reached over https (or http on this machine), not "${url.protocol}".`;
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return `${t} would send prompts and the API key over plain http to another machine: use https://, or http:// only for 127.0.0.1, ::1 or localhost (an ssh tunnel reaches a remote server that way).`;
  }
  if (url.username || url.password) return `Put no credentials in the backend URL: set ${BACKEND_API_KEY_ENV} in the environment instead.`;
  if (url.search || url.hash) return `The backend URL takes no query or fragment: give the server's address only (${url.origin}).`;
  return null;
}

/** The server's base address, without a trailing `/` or `/v1` (both are accepted as given). Throws on a bad URL. */
export function backendBase(text: string): string {
  const problem = backendUrlProblem(text);
  if (problem) throw new RangeError(problem);
  const url = new URL(text.trim());
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.origin}${path}`;
}
