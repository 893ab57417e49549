// Package storetest is a conformance suite for behavior.Store
// implementations: every store (memory, Redis) must pass Run, and the
// engine's scripted sessions must behave the same on it.
package storetest
