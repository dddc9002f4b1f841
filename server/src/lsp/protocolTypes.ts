// common/protocol.ts builds its message types with the top-level vscode-languageserver-protocol (the version the
// client uses); vscode-languageserver 10.1.2 carries its own nested copy (3.18.4 / vscode-jsonrpc 9), whose classes
// differ only nominally. These casts let the server register the same objects with full parameter typing.
import type { NotificationType as SNotificationType, RequestType as SRequestType, RequestType0 as SRequestType0 } from "vscode-languageserver";
import type { NotificationType, RequestType, RequestType0 } from "vscode-languageserver-protocol";

export const req = <P, R>(t: RequestType<P, R, void>): SRequestType<P, R, void> => t as unknown as SRequestType<P, R, void>;
export const req0 = <R>(t: RequestType0<R, void>): SRequestType0<R, void> => t as unknown as SRequestType0<R, void>;
export const note = <P>(t: NotificationType<P>): SNotificationType<P> => t as unknown as SNotificationType<P>;
