// Package depcheck holds the dependency-rule test (issue 10): low-level
// packages never import the gateway, the ext_proc processor, commands or
// examples, and the detection, MCP, audit and policy modules never import
// each other sideways. It has no runtime code.
package depcheck
