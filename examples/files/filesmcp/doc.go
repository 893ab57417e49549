// Package filesmcp is the example "files" MCP server: four tools (list_dir,
// read_file, write_file, delete_file) over one sandbox directory, served over
// MCP Streamable HTTP at /mcp with the official Go SDK.
//
// Invariants: every path a tool receives is resolved inside the sandbox root
// through an os.Root, so "..", absolute paths and symlinks that leave the root
// are refused (as a tool error, never a panic). read_file and list_dir are
// annotated readOnlyHint; delete_file is annotated destructiveHint.
//
// The package exists so that the server can be started in-process by tests
// (see Handler) as well as by the thin command in examples/files.
package filesmcp
