// The progress panel's HTML: strict CSP with a fresh nonce per render, no remote resources. No `vscode` import,
// so the webview test renders exactly this HTML outside VS Code.
import { randomBytes } from "node:crypto";

export function newNonce(): string {
  return randomBytes(18).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

export interface PanelHtmlOptions {
  /** `webview.cspSource`. */
  cspSource: string;
  /** `webview.asWebviewUri(webview/dist/main.js)` as a string. */
  scriptUri: string;
  nonce?: string;
}

export function panelHtml(o: PanelHtmlOptions): string {
  const nonce = o.nonce ?? newNonce();
  const csp = [
    "default-src 'none'",
    `img-src ${o.cspSource} data:`,
    `style-src ${o.cspSource} 'unsafe-inline'`,
    `font-src ${o.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Inversion progress</title>
<style>
  body { color: var(--vscode-foreground, #ccc); background: var(--vscode-editor-background, #1e1e1e); font-family: var(--vscode-font-family, sans-serif); font-size: var(--vscode-font-size, 13px); padding: 8px 16px; }
  .header { display: flex; gap: 6px; align-items: center; margin-bottom: 6px; }
  select { flex: 1; max-width: 480px; color: var(--vscode-dropdown-foreground, inherit); background: var(--vscode-dropdown-background, transparent); border: 1px solid var(--vscode-dropdown-border, #555); padding: 2px 4px; }
  button { color: var(--vscode-button-foreground, inherit); background: var(--vscode-button-background, #0e639c); border: none; padding: 3px 8px; cursor: pointer; }
  #status { min-height: 1.4em; opacity: 0.85; margin-bottom: 6px; }
  #empty { opacity: 0.7; margin: 12px 0; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 16px; }
  .chart h3 { font-size: 1em; font-weight: 600; margin: 4px 0; }
  .canvas-wrap { position: relative; height: 220px; }
  .note { opacity: 0.8; font-size: 0.9em; margin: 4px 0; }
  .examples { margin-top: 16px; }
  .examples h3 { font-size: 1em; font-weight: 600; margin: 4px 0; }
  .examples select { flex: 0 0 auto; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; vertical-align: top; padding: 3px 8px 3px 0; border-bottom: 1px solid var(--vscode-editorWidget-border, rgba(128,128,128,0.25)); }
  th { font-weight: 600; }
  td.command { font-family: var(--vscode-editor-font-family, monospace); white-space: pre-wrap; word-break: break-all; }
  td.score { font-variant-numeric: tabular-nums; }
  [hidden] { display: none !important; }
</style>
</head>
<body>
<div id="app"></div>
<script nonce="${nonce}" src="${o.scriptUri}"></script>
</body>
</html>`;
}
