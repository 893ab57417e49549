package app

// synopses is each command's argument synopsis for its --help, in one table
// so that every command (whoever owns its file) gets the same help layout.
// TestEveryCommandHasSynopsis keeps it in step with the registered commands.
var synopses = map[string]string{
	"serve":             "serve --config FILE [--log-level debug|info|warn|error]",
	"xds":               "xds --config FILE [--print] [--listen ADDR] [flags]",
	"version":           "version [--json]",
	"explain":           "explain DECISION_ID [--config FILE | --audit-dir DIR] [--decision-log FILE] [--json]",
	"audit verify":      "audit verify DIR [--pubkey FILE]... [--checkpoints FILE]... [--as-of TIME] [--json]  (with --pubkey, missing or stale signed checkpoints make the log INVALID)",
	"approvals list":    "approvals list [--status STATUS] [--admin URL] [--token JWT | --as NAME] [--json]",
	"approvals show":    "approvals show ID [--admin URL] [--token JWT | --as NAME] [--json]",
	"approvals approve": "approvals approve ID [--comment TEXT] [--admin URL] [--token JWT | --as NAME] [--json]",
	"approvals reject":  "approvals reject ID [--comment TEXT] [--admin URL] [--token JWT | --as NAME] [--json]",
	"audit keygen":      "audit keygen [--out PREFIX] [--force]",
	"policy check":      "policy check FILE",
	"policy test":       "policy test [-v] [-coverage] FILE CASES",
	"scan":              "scan [--json | --tools | --jsonl FILE] [--plane request|result] [--redact MODE] [--no-values] [--fail] [--text TEXT | FILE... | -]  (stdin when none is given)",
	"train injection":   "train injection [--data FILE] [--out FILE] [flags]",
}
