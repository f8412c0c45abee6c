// What a sidecar says about itself on the discovery stream (mesh.proto's Node, first
// DiscoveryRequest): the sidecar's XdsClient sends it, the control plane checks it (parseNode)
// and translates for it. The wire form with proto3 defaults is NodeMsg (shared/proto/load.ts).
export interface NodeInfo {
  service: string;
  instanceId: string;
  /** Where peers reach this instance's inbound listener; with inboundPort, registers the endpoint. */
  address?: string;
  inboundPort?: number;
  labels?: Record<string, string>;
  /** Namespace of its SPIFFE ID; the control plane refuses a claim its certificate does not prove. */
  namespace?: string;
}
