package gateway

// BreakListenerForTest closes a listener under its server, as a failing
// socket would, so tests can observe readiness react.
func (g *Gateway) BreakListenerForTest(name string) {
	switch name {
	case "proxy":
		_ = g.proxyLis.Close()
	case "admin":
		_ = g.adminLis.Close()
	}
}
