// The innermost inbound handler: forwards to the local app on 127.0.0.1:<appPort> in plaintext,
// in the protocol the request came in with (sidecar/upstream/plaintext-client.ts).
import { createPlaintextClient, type PlaintextClient } from "../upstream/plaintext-client.js";

export function createAppClient(appPort: number, appHost = "127.0.0.1"): PlaintextClient {
  return createPlaintextClient(appHost, appPort, `app ${appHost}:${appPort}`);
}
