package config

import (
	"fmt"
	"strconv"
)

// ValidGlob reports whether a tool pattern is acceptable: non-empty, at most
// 128 bytes, printable ASCII.
func ValidGlob(g string) error {
	if g == "" {
		return fmt.Errorf("empty pattern")
	}
	if len(g) > 128 {
		return fmt.Errorf("pattern %q longer than 128 bytes", g)
	}
	for i := 0; i < len(g); i++ {
		if g[i] < 0x21 || g[i] > 0x7e {
			return fmt.Errorf("pattern %q contains a non-printable or non-ASCII byte at %d", g, i)
		}
	}
	return nil
}

// Glob matches name against a pattern where * matches any run of bytes
// (including '/') and ? exactly one byte. Linear time, no backtracking blowup.
func Glob(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// ToolDecision says whether a server's rules allow a tool, and which rule
// decided: "servers.NAME.tools.deny[i]=GLOB", "...tools.allow[i]=GLOB" or
// "...tools.default-deny" (concatenated, not formatted: it runs per call).
func (s *Server) ToolDecision(tool string) (allowed bool, rule string) {
	for i, g := range s.Tools.Deny {
		if Glob(g, tool) {
			return false, "servers." + s.Name + ".tools.deny[" + strconv.Itoa(i) + "]=" + g
		}
	}
	for i, g := range s.Tools.Allow {
		if Glob(g, tool) {
			return true, "servers." + s.Name + ".tools.allow[" + strconv.Itoa(i) + "]=" + g
		}
	}
	return false, "servers." + s.Name + ".tools.default-deny"
}
