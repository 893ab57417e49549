// Package secretsref is a frozen copy of the secrets rules engine as it was
// before its speed work (commit 922252b). Only tests import it, to check
// that the optimised Find returns identical matches. Do not optimise it.
package secretsref
