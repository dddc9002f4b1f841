// Tells the server which lines of shell scripts are visible: it scores large scripts from there first.
import * as vscode from "vscode";
import { State, type LanguageClient } from "vscode-languageclient/node";
import { VisibleRangesNotification } from "../../common/protocol";

export function trackVisibleRanges(client: LanguageClient): vscode.Disposable[] {
  let timer: NodeJS.Timeout | undefined;
  const send = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      if (!client.isRunning()) return;
      for (const [uri, ranges] of visibleShellRanges()) void client.sendNotification(VisibleRangesNotification.type, { uri, ranges });
    }, 150);
  };
  return [
    vscode.window.onDidChangeTextEditorVisibleRanges(send),
    vscode.window.onDidChangeVisibleTextEditors(send),
    client.onDidChangeState((e) => e.newState === State.Running && send()),
    { dispose: () => timer && clearTimeout(timer) },
  ];
}

function visibleShellRanges(): Map<string, { startLine: number; endLine: number }[]> {
  const byDoc = new Map<string, { startLine: number; endLine: number }[]>();
  for (const e of vscode.window.visibleTextEditors) {
    if (e.document.languageId !== "shellscript") continue;
    const list = byDoc.get(e.document.uri.toString()) ?? [];
    for (const r of e.visibleRanges) list.push({ startLine: r.start.line, endLine: r.end.line });
    byDoc.set(e.document.uri.toString(), list);
  }
  return byDoc;
}
