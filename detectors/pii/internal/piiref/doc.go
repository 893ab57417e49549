// Package piiref is a frozen copy of the pii recognisers as they were
// before their speed work (commit 922252b). Only tests import it, to check
// that the optimised Find returns identical entities. Do not optimise it.
package piiref
