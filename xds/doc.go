// Package xds is Portcullis's control plane for real Envoy: it turns the
// server allow-list in portcullis.yaml into Envoy listener, route and cluster
// resources and serves them over ADS (go-control-plane SnapshotCache, keyed
// by node id), pushing a new snapshot on every config reload.
//
// Invariants:
//   - An unlisted MCP server has no route and no cluster; /mcp/<unknown> hits
//     a JSON-RPC 404 fallback (the processor normally answers first).
//   - Every pushed snapshot passes Consistent() and every resource passes its
//     PGV ValidateAll(); a config that fails config or resource validation
//     pushes nothing and the previous snapshot stays in place.
//   - Every push carries a version string never used before by this Server
//     (a counter plus a content hash, so a restarted Server does not reuse a
//     version for different content).
//   - The resources match envoy/envoy.yaml for the quickstart config (checked
//     by envoy/configtest): the processor contract is the same for both.
package xds
