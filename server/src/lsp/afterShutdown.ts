// Once the client has asked the server to shut down, the server takes no more work (LSP: "If a server receives
// requests after a shutdown request those requests should error with InvalidRequest"). vscode-languageserver goes on
// dispatching them, so a run could even start after `shutdown`. Every handler registered through the connection this
// returns is gated: requests are refused, notifications dropped; the lifecycle (initialize, shutdown, exit) is not.
import { ErrorCodes, ResponseError, type Connection } from "vscode-languageserver/node";

/** Registrations whose handlers answer notifications: after shutdown these are dropped rather than refused. */
const NOTIFICATION_REGISTRARS: ReadonlySet<string> = new Set([
  "onNotification",
  "onInitialized",
  "onDidChangeConfiguration",
  "onDidChangeWatchedFiles",
  "onDidOpenTextDocument",
  "onDidChangeTextDocument",
  "onDidCloseTextDocument",
  "onWillSaveTextDocument",
  "onDidSaveTextDocument",
  "onProgress",
]);

/** The lifecycle's own registrations, never gated. */
const LIFECYCLE: ReadonlySet<string> = new Set(["onInitialize", "onShutdown", "onExit"]);

export const SHUT_DOWN_MESSAGE = "The server is shutting down and takes no more requests.";

type Handler = (...args: unknown[]) => unknown;

function gated(handler: Handler, notification: boolean, shutDown: () => boolean): Handler {
  return (...args) => {
    if (!shutDown()) return handler(...args);
    if (notification) return undefined;
    throw new ResponseError(ErrorCodes.InvalidRequest, SHUT_DOWN_MESSAGE);
  };
}

/** `connection` with every handler registered through it gated on `shutDown()`. */
export function closedAfterShutdown(connection: Connection, shutDown: () => boolean): Connection {
  return new Proxy(connection, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      if (typeof key !== "string" || !key.startsWith("on") || LIFECYCLE.has(key)) return (value as Handler).bind(target);
      const notification = NOTIFICATION_REGISTRARS.has(key);
      // the handler is a registration's last argument: onRequest(type, handler), onHover(handler), …
      return (...args: unknown[]) =>
        (value as Handler).apply(
          target,
          args.map((arg, i) => (i === args.length - 1 && typeof arg === "function" ? gated(arg as Handler, notification, shutDown) : arg)),
        );
    },
  });
}
