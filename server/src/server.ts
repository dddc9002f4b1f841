// The Inversion language server: hovers with the model's reading of a shell command and its scores, diagnostics
// where a comment and the command below disagree, a code action inserting the model's reading, and custom requests
// to run self-improvement cycles with work-done progress and cancellation. Transport from argv (--node-ipc/--stdio).
import { createServerConnection } from "./lsp/framing";
import { startServer } from "./lsp/main";

startServer(createServerConnection());
