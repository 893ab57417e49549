// Package exfilref is a frozen copy of the exfiltration signatures as they
// were before their speed work (commit 922252b). Only tests import it, to
// check that the optimised Scan returns identical hits. Do not optimise it.
package exfilref
