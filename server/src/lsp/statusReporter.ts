// The server's status (the model's state, the comment check's) and its coalesced notification to the client.
import type { Connection } from "vscode-languageserver/node";
import { StatusNotification, type ServerStatus } from "../../../common/protocol";
import { note } from "./protocolTypes";

export class StatusReporter {
  readonly status: ServerStatus = {
    pid: process.pid,
    model: "none",
    modelPath: null,
    adapterPath: null,
    message: null,
    selfCheck: null,
  };
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly connection: Connection) {}

  /** Merges `change` into the status and schedules a send. */
  update(change: Partial<ServerStatus>): void {
    Object.assign(this.status, change);
    if ("progress" in change && change.progress === undefined) delete this.status.progress;
    this.send();
  }

  /** Coalesces bursts (loading progress) to at most ~10 notifications per second. */
  send(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connection.sendNotification(note(StatusNotification.type), this.snapshot());
    }, 100);
  }

  snapshot(): ServerStatus {
    return { ...this.status };
  }
}
