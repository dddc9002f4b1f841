// The rules every front end applies to run views (the client, and the panel's webview, which bundles this file):
// nothing here may import more than types, or the webview's bundle would carry it.
import type { RunView } from "./protocol";

/**
 * Whether `next` is older than `shown`, a view of the same run, and is to be dropped: views of one run can arrive out
 * of order (the run request's answer races its last notification). A view read from the run directory (version 0)
 * is never stale: it is what the store holds now. The same version again is the same view, shown again.
 */
export function isStaleView(shown: RunView | null, next: RunView): boolean {
  return !!shown && shown.runDir === next.runDir && next.version > 0 && next.version < shown.version;
}

/** Whether the run is still going: running, or stopping (the engine and the trainer have not stopped yet). */
export function runGoesOn(view: RunView): boolean {
  return view.state === "running" || view.state === "stopping";
}
