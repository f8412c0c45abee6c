// Opens an mTLS connection to a peer sidecar with the current TLS state (rotation takes effect
// for new connections), checking the peer's SPIFFE ID. Failures become connect-failure errors.
import tls from "node:tls";
import type { TlsState } from "../config/tls-material.js";
import type { Endpoint } from "../core/handler.js";
import { whenConnected } from "./connect-bounded.js";
import { connectFailure } from "./errors.js";
import { expectIdentity, PeerIdentityError, serverNameFor } from "./peer-identity.js";


export type TlsSource = () => TlsState | undefined;

/** Starts the connection; `done` gets the socket once the handshake and identity check passed. */
export function connectMtls(ep: Endpoint, tlsState: TlsSource, alpn: string[], done: (err: Error | null, socket: tls.TLSSocket | null) => void): tls.TLSSocket | undefined {
  const state = tlsState();
  if (!state) {
    done(connectFailure("no workload certificate yet", "TSMESH_ERR_NO_CERTIFICATE"), null);
    return undefined;
  }
  const socket = tls.connect({
    host: ep.host,
    port: ep.port,
    secureContext: state.secureContext,
    servername: serverNameFor(ep.identity),
    ALPNProtocols: alpn,
    checkServerIdentity: expectIdentity(ep.identity),
  });
  socket.setNoDelay(true);
  whenConnected(
    socket,
    "secureConnect",
    (s) => done(null, s),
    (err) => {
      if (err instanceof PeerIdentityError) done(connectFailure(`${ep.address}: ${err.message}`, err.code), null);
      else done(connectFailure(`cannot connect to ${ep.address}: ${err.code ?? err.message}`), null);
    },
  );
  return socket;
}
