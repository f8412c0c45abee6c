import { describe, expect, it } from "vitest";
import type { DiscoveryResponseMsg } from "../../shared/proto/load.js";
import { SnapshotCache } from "./cache.js";
import { SidecarSession } from "./session.js";
import type { MeshState } from "./state.js";
import type { SidecarRecord } from "./status.js";

const state = (revision: number): MeshState => ({ revision, routes: [], policies: [], authz: [], endpoints: [], trustBundle: [] });
const node = { service: "web", instanceId: "web-1" };

function setup(initial: { versionInfo: string; nackedVersion?: string } = { versionInfo: "" }) {
  const cache = new SnapshotCache();
  cache.setState(state(10));
  const sent: DiscoveryResponseMsg[] = [];
  const records: SidecarRecord[] = [];
  const session = new SidecarSession({ cache, replicaId: "r1", onStatus: (r) => records.push(r) }, node, (res) => sent.push(res), initial);
  const next = (rev: number) => {
    cache.setState(state(rev));
    session.onVersion();
  };
  return { cache, sent, records, session, next };
}

describe("SidecarSession", () => {
  it("sends the current version on connect, then one response at a time", () => {
    const { sent, session, next } = setup();
    expect(sent.map((s) => s.versionInfo)).toEqual(["10"]);
    next(11);
    expect(sent).toHaveLength(1); // 10 not answered yet
    session.onRequest({ versionInfo: "10", responseNonce: sent[0]!.nonce, errorDetail: "" });
    expect(sent.map((s) => s.versionInfo)).toEqual(["10", "11"]);
    expect(session.ackedVersion()).toBe("10");
  });

  it("ignores answers to stale nonces", () => {
    const { session } = setup();
    session.onRequest({ versionInfo: "10", responseNonce: "bogus", errorDetail: "" });
    expect(session.ackedVersion()).toBe("");
  });

  it("remembers a NACKed version, does not resend it, and sends the next one", () => {
    const { sent, records, session, next } = setup({ versionInfo: "9" });
    session.onRequest({ versionInfo: "9", responseNonce: sent[0]!.nonce, errorDetail: "bad route" });
    expect(session.nackedVersion()).toBe("10");
    expect(session.ackedVersion()).toBe("9");
    expect(records.at(-1)).toMatchObject({ ackedVersion: "9", nackedVersion: "10", lastError: "bad route", connectedTo: "r1" });
    session.onVersion();
    expect(sent).toHaveLength(1);
    next(12);
    expect(sent.map((s) => s.versionInfo)).toEqual(["10", "12"]);
    session.onRequest({ versionInfo: "12", responseNonce: sent[1]!.nonce, errorDetail: "" });
    expect(records.at(-1)!.nackedVersion).toBeUndefined();
  });

  it("does not send a version the sidecar NACKed on another replica", () => {
    const { sent } = setup({ versionInfo: "9", nackedVersion: "10" });
    expect(sent).toHaveLength(0);
  });

  it("greets a sidecar that already has the version, once", () => {
    const { sent, session } = setup({ versionInfo: "10" });
    expect(sent).toHaveLength(1);
    session.onRequest({ versionInfo: "10", responseNonce: sent[0]!.nonce, errorDetail: "" });
    session.onVersion();
    expect(sent).toHaveLength(1);
  });
});
