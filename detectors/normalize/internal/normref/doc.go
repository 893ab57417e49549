// Package normref is a frozen copy of the normalize package as it was
// before its speed work (commit 922252b). It exists only so tests can check
// that the optimised normaliser returns byte-identical views; nothing at run
// time imports it. Do not optimise it.
package normref
