// The server's connection, which exits when the client's message stream loses its framing. vscode-jsonrpc reports a
// header without a numeric Content-Length and then keeps the bytes, so every later read fails the same way: the
// server would stay alive but deaf for ever. Exiting with the reason on stderr lets the client restart it. (A bad
// JSON body is different: its frame is consumed and the stream reads on, so that is survived.)
import {
  ProposedFeatures,
  combineFeatures,
  createConnection,
  type Connection,
  type ProtocolConnection,
  type RemoteConsole,
} from "vscode-languageserver/node";

const FRAMING_ERROR = /^(Header must provide a Content-Length property|Content-Length value must be a number)/;

/** `rawAttach` receives the protocol connection (undeclared in the typings, present since vscode-languageserver 3). */
type AttachableConsole = RemoteConsole & { rawAttach(connection: ProtocolConnection): void };

const exitOnBrokenFraming = (Base: new () => RemoteConsole): new () => RemoteConsole =>
  class extends (Base as new () => AttachableConsole) {
    override rawAttach(connection: ProtocolConnection): void {
      super.rawAttach(connection);
      connection.onError(([error]) => {
        if (!FRAMING_ERROR.test(error.message)) return;
        process.stderr.write(`Inversion language server: exiting, the client's messages cannot be read any more: ${error.message.split("\n")[0]}\n`);
        process.exit(1);
      });
    }
  };

export function createServerConnection(): Connection {
  return createConnection(combineFeatures(ProposedFeatures.all, { __brand: "features", console: exitOnBrokenFraming }));
}
