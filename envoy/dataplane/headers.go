package dataplane

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"golang.org/x/net/http/httpguts"
)

// hv is one header entry; keys are lower-case.
type hv struct{ k, v string }

// headerList is an ordered multimap like Envoy's HeaderMap.
type headerList []hv

func (h headerList) get(k string) (string, bool) {
	for _, e := range h {
		if e.k == k {
			return e.v, true
		}
	}
	return "", false
}

func (h *headerList) del(k string) {
	out := (*h)[:0]
	for _, e := range *h {
		if e.k != k {
			out = append(out, e)
		}
	}
	*h = out
}

func (h *headerList) set(k, v string) {
	for i, e := range *h {
		if e.k == k {
			(*h)[i].v = v
			rest := (*h)[i+1:]
			n := i + 1
			for _, r := range rest {
				if r.k != k {
					(*h)[n] = r
					n++
				}
			}
			*h = (*h)[:n]
			return
		}
	}
	h.add(k, v)
}

func (h *headerList) add(k, v string) {
	if strings.HasPrefix(k, ":") {
		// keep pseudo-headers in front, like Envoy's header map
		i := 0
		for i < len(*h) && strings.HasPrefix((*h)[i].k, ":") {
			i++
		}
		*h = append(*h, hv{})
		copy((*h)[i+1:], (*h)[i:])
		(*h)[i] = hv{k, v}
		return
	}
	*h = append(*h, hv{k, v})
}

func (h headerList) proto() *corev3.HeaderMap {
	m := &corev3.HeaderMap{Headers: make([]*corev3.HeaderValue, 0, len(h))}
	for _, e := range h {
		m.Headers = append(m.Headers, &corev3.HeaderValue{Key: e.k, RawValue: []byte(e.v)})
	}
	return m
}

// hopByHop are connection-level headers a proxy never forwards.
var hopByHop = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"upgrade": true, "te": true, "trailer": true, "expect": true,
}

// fromHTTP appends h (sorted by key for determinism, values in order) lower-cased,
// without hop-by-hop headers or headers named by Connection.
func (h *headerList) fromHTTP(src http.Header) {
	var drop map[string]bool // headers named by Connection (rare)
	for _, c := range src.Values("Connection") {
		if drop == nil {
			drop = map[string]bool{}
		}
		for _, f := range strings.Split(c, ",") {
			if f = strings.TrimSpace(f); f != "" {
				drop[strings.ToLower(f)] = true
			}
		}
	}
	var small [32]string
	keys := small[:0]
	for k := range src {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		lk := strings.ToLower(k)
		if hopByHop[lk] || drop[lk] || lk == "host" {
			continue
		}
		for _, v := range src[k] {
			*h = append(*h, hv{lk, v})
		}
	}
}

// toHTTP converts the non-pseudo entries to an http.Header.
func (h headerList) toHTTP(dst http.Header) {
	for _, e := range h {
		if strings.HasPrefix(e.k, ":") || e.k == "host" {
			continue
		}
		dst[http.CanonicalHeaderKey(e.k)] = append(dst[http.CanonicalHeaderKey(e.k)], e.v)
	}
}

// errMutation is a header mutation that fails the request with status_on_error
// regardless of failure_mode_allow.
type errMutation struct{ details string }

func (e *errMutation) Error() string { return e.details }

// checker implements Envoy's HeaderMutationRules checker (mutation_rules.cc).
type checker struct {
	r               MutationRules
	allowRE, denyRE *regexp.Regexp
	onReject        func()
}

func newChecker(r MutationRules) (*checker, error) {
	c := &checker{r: r}
	var err error
	if r.AllowExpression != "" {
		if c.allowRE, err = regexp.Compile(r.AllowExpression); err != nil {
			return nil, fmt.Errorf("allow_expression: %w", err)
		}
	}
	if r.DisallowExpression != "" {
		if c.denyRE, err = regexp.Compile(r.DisallowExpression); err != nil {
			return nil, fmt.Errorf("disallow_expression: %w", err)
		}
	}
	return c, nil
}

type mutOp int

const (
	opSet mutOp = iota
	opAppend
	opRemove
)

// allowed reports whether the operation on name is permitted by the rules.
func (c *checker) allowed(op mutOp, name string) bool {
	pseudo := strings.HasPrefix(name, ":")
	if op == opRemove && (pseudo || name == "host") {
		return false
	}
	if c.denyRE != nil && c.denyRE.MatchString(name) {
		return false
	}
	if c.allowRE != nil && c.allowRE.MatchString(name) {
		return true
	}
	if c.r.DisallowAll {
		return false
	}
	if !c.r.AllowAllRouting {
		switch name {
		case "host", ":authority", ":method", ":scheme":
			return false
		}
	}
	if pseudo && (op == opAppend || c.r.DisallowSystem) {
		return false
	}
	if !c.r.AllowEnvoy && strings.HasPrefix(name, "x-envoy") {
		return false
	}
	return true
}

// validValue checks the per-header value constraints of step 8.
func validValue(name, v string) bool {
	switch name {
	case ":status":
		n, err := strconv.Atoi(v)
		return err == nil && n >= 200 && n <= 999
	case ":authority", "host":
		return v != "" && !strings.ContainsAny(v, "/?#@ ")
	case ":scheme":
		return v == "http" || v == "https"
	}
	return true
}

// mutationCtx describes where a mutation is applied.
type mutationCtx struct {
	removeCL    bool // content-length removal mode: set of content-length is skipped
	allowMethod bool // CONTINUE_AND_REPLACE with body: :method may change
}

// apply applies m to h following mutation_utils.cc: removes first, then sets;
// only raw_value is read; append=true adds when the header exists.
// It returns the number of rejected operations and an *errMutation when the
// request must fail.
func (c *checker) apply(h *headerList, m *extprocv3.HeaderMutation, mc mutationCtx) (rejected int, err error) {
	if m == nil {
		return 0, nil
	}
	reject := func(name string) error {
		rejected++
		if c.r.DisallowIsError {
			return &errMutation{details: "ext_proc_error_header_mutation_disallowed{" + name + "}"}
		}
		return nil
	}
	for _, name := range m.GetRemoveHeaders() {
		name = strings.ToLower(name)
		if !httpguts.ValidHeaderFieldName(strings.TrimPrefix(name, ":")) {
			return rejected, &errMutation{details: "ext_proc_error_invalid_header_name"}
		}
		if !c.allowed(opRemove, name) {
			if e := reject(name); e != nil {
				return rejected, e
			}
			continue
		}
		h.del(name)
	}
	for _, o := range m.GetSetHeaders() {
		hdr := o.GetHeader()
		if hdr == nil {
			continue
		}
		name := strings.ToLower(hdr.GetKey())
		val := string(hdr.GetRawValue())
		if name == "" || !httpguts.ValidHeaderFieldName(strings.TrimPrefix(name, ":")) {
			return rejected, &errMutation{details: "ext_proc_error_invalid_header_name"}
		}
		if !httpguts.ValidHeaderFieldValue(val) {
			return rejected, &errMutation{details: "ext_proc_error_invalid_header_value"}
		}
		if name == "content-length" && mc.removeCL {
			continue // silently skipped (mutation_utils.cc:197-201)
		}
		appendOp := o.GetAppend().GetValue()
		_, exists := h.get(name)
		op := opSet
		if appendOp && exists {
			op = opAppend
		}
		ok := c.allowed(op, name) || (name == ":method" && mc.allowMethod)
		if ok && !validValue(name, val) {
			ok = false
		}
		if !ok {
			if e := reject(name); e != nil {
				return rejected, e
			}
			continue
		}
		if op == opAppend {
			h.add(name, val)
		} else {
			h.set(name, val)
		}
	}
	return rejected, nil
}

var errBadContentLength = errors.New("content-length is not a number")

func parseCL(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, errBadContentLength
	}
	return n, nil
}
