package behavior

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// ToolDef is one tool as a server lists it.
type ToolDef struct {
	Name string
	Raw  []byte // the tool object JSON: name, description, inputSchema, annotations
}

// PinReport is what PinTools found in one tools/list.
type PinReport struct {
	// Changed maps tool → short diff for tools whose definition differs
	// from the pinned one; in pinning mode block they are withheld and
	// calls to them blocked until approved.
	Changed map[string]string
	// Shadowed maps tool → the other server that first listed a tool of
	// the same name.
	Shadowed map[string]string
	// New lists tools pinned for the first time.
	New []string
}

// pinned fields, in canonical order
var pinFields = [...]string{"name", "description", "inputSchema", "annotations"}

// canonicalTool returns the canonical JSON of the pinned fields of a tool
// object (keys sorted, insignificant whitespace removed, numbers kept as
// written) and its SHA-256 hex.
func canonicalTool(raw []byte) (map[string]json.RawMessage, string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return nil, "", fmt.Errorf("tool definition: %w", err)
	}
	fields := make(map[string]json.RawMessage, len(pinFields))
	pick := make(map[string]any, len(pinFields))
	for _, f := range pinFields {
		if v, ok := obj[f]; ok {
			pick[f] = v
			b, err := json.Marshal(v)
			if err != nil {
				return nil, "", fmt.Errorf("tool definition field %s: %w", f, err)
			}
			fields[f] = b
		}
	}
	b, err := json.Marshal(pick) // encoding/json sorts map keys
	if err != nil {
		return nil, "", fmt.Errorf("tool definition: %w", err)
	}
	sum := sha256.Sum256(b)
	return fields, hex.EncodeToString(sum[:]), nil
}

// ToolHash is the pin of a tool definition: the SHA-256 hex of the
// canonical JSON of its name, description, inputSchema and annotations. Use
// it to write spec.behavior.pinning.pinned.
func ToolHash(raw []byte) (string, error) {
	_, h, err := canonicalTool(raw)
	return h, err
}

// pinRecord is stored per server and tool. The first byte of the stored
// blob is 'B' when a change awaits approval, so Blocked needs no decoding
// on the hot path.
type pinRecord struct {
	Hash       string                     `json:"h"`
	Def        map[string]json.RawMessage `json:"def,omitempty"`
	Pending    string                     `json:"p,omitempty"`
	PendingDef map[string]json.RawMessage `json:"pdef,omitempty"`
	Diff       string                     `json:"d,omitempty"`
}

func pinKey(server, tool string) string { return "p\x00" + server + "\x00" + tool }

func (e *Engine) loadPin(ctx context.Context, server, tool string) (*pinRecord, error) {
	p, err := e.store.Get(ctx, pinKey(server, tool))
	if err != nil {
		return nil, fmt.Errorf("load pin %s/%s: %w", server, tool, err)
	}
	r, err := decodePin(p)
	if err != nil {
		return nil, fmt.Errorf("pin %s/%s: %w", server, tool, err)
	}
	return r, nil
}

// decodePin reads a stored pin blob (nil: no pin).
func decodePin(p []byte) (*pinRecord, error) {
	if len(p) < 2 {
		return nil, nil
	}
	var r pinRecord
	if err := json.Unmarshal(p[1:], &r); err != nil {
		return nil, fmt.Errorf("decode pin: %w", err)
	}
	return &r, nil
}

// pinPut is the batched write of a pin record.
func (e *Engine) pinPut(server, tool string, r *pinRecord) (Op, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return Op{}, fmt.Errorf("encode pin: %w", err)
	}
	flag := byte('O')
	if r.Pending != "" {
		flag = 'B'
	}
	return Op{Kind: OpPut, Key: pinKey(server, tool), Val: append([]byte{flag}, b...)}, nil
}

func (e *Engine) savePin(ctx context.Context, server, tool string, r *pinRecord) error {
	op, err := e.pinPut(server, tool, r)
	if err != nil {
		return err
	}
	if err := e.store.Put(ctx, op.Key, op.Val, 0); err != nil {
		return fmt.Errorf("save pin %s/%s: %w", server, tool, err)
	}
	return nil
}

// PinTools checks a server's tools/list against the pins: tools seen for
// the first time are pinned (from spec.behavior.pinning.pinned when listed
// there, else as listed), changed tools are reported with a short diff and,
// in mode block, withheld until Approve. A tool whose definition returns to
// the pinned one is released. Cross-server shadowing is reported.
//
// Store traffic is batched: one round trip reads every pin and tool owner;
// writes (new pins, changes, owners) go in at most two more. When pins
// cannot be read in mode block, every tool is reported changed ("pins
// unavailable") and so withheld, unless Config.OnStoreError opens pins.
func (e *Engine) PinTools(ctx context.Context, server string, tools []ToolDef) PinReport {
	var rep PinReport
	if e.cfg.Pinning.Mode == PinOff {
		return rep
	}
	type item struct {
		name, h string
		fields  map[string]json.RawMessage
		rec     *pinRecord
		count   [1]int64
	}
	items := make([]item, 0, len(tools))
	for _, t := range tools {
		fields, h, err := canonicalTool(t.Raw)
		if err != nil {
			sum := sha256.Sum256(t.Raw)
			h, fields = hex.EncodeToString(sum[:]), nil
		}
		name := t.Name
		if name == "" && fields != nil {
			_ = json.Unmarshal(fields["name"], &name)
		}
		if name == "" {
			continue
		}
		items = append(items, item{name: name, h: h, fields: fields})
	}
	reads := make([]Op, 0, 2*len(items))
	for _, it := range items {
		reads = append(reads, Op{Kind: OpGet, Key: pinKey(server, it.name)}, Op{Kind: OpGet, Key: "tn\x00" + it.name})
	}
	e.do(ctx, reads)

	// New tools take a slot of the server's bounded pin count.
	var counts []Op
	newIdx := make([]int, 0)
	known := make([]bool, len(items))
	for i := range items {
		it := &items[i]
		get := &reads[2*i]
		if get.Err != nil {
			if e.cfg.Pinning.Mode == PinBlock && !e.cfg.OnStoreError.PinsOpen {
				e.changed(&rep, it.name, "tool pins unavailable (state store error; pins fail closed)")
			}
			continue
		}
		rec, err := decodePin(get.Val)
		if e.fail(err) {
			continue
		}
		known[i] = true
		if rec == nil {
			newIdx = append(newIdx, i)
			counts = append(counts, Op{Kind: OpAdd, Key: "pn\x00" + server, Deltas: one[:], Out: it.count[:]})
			continue
		}
		it.rec = rec
	}
	e.do(ctx, counts)

	var writes []Op
	save := func(name string, r *pinRecord) {
		if op, err := e.pinPut(server, name, r); !e.fail(err) {
			writes = append(writes, op)
		}
	}
	for k, i := range newIdx {
		it := &items[i]
		if counts[k].Err != nil || it.count[0] > int64(e.cfg.Pinning.MaxToolsPerServer) {
			known[i] = false // not pinned: no shadow bookkeeping either
			continue
		}
		rec := &pinRecord{Hash: it.h, Def: it.fields}
		if want := e.cfg.Pinning.Pinned[server][it.name]; want != "" && !strings.EqualFold(want, it.h) {
			rec = &pinRecord{Hash: strings.ToLower(want), Pending: it.h, PendingDef: it.fields,
				Diff: fmt.Sprintf("hash %s… pinned in policy, listed %s…", want[:min(12, len(want))], it.h[:12])}
			e.changed(&rep, it.name, rec.Diff)
		} else {
			rep.New = append(rep.New, it.name)
		}
		save(it.name, rec)
	}
	for i := range items {
		it := &items[i]
		if rec := it.rec; rec != nil {
			switch {
			case rec.Hash == it.h && rec.Pending == "":
			case rec.Hash == it.h:
				rec.Pending, rec.PendingDef, rec.Diff = "", nil, ""
				save(it.name, rec)
			default:
				if rec.Pending != it.h {
					rec.Pending, rec.PendingDef = it.h, it.fields
					rec.Diff = pinDiff(rec.Def, it.fields, rec.Hash, it.h)
					save(it.name, rec)
				}
				e.changed(&rep, it.name, rec.Diff)
			}
		}
		owner := &reads[2*i+1]
		if !known[i] || e.fail(owner.Err) {
			continue
		}
		if owner.Val == nil {
			writes = append(writes, Op{Kind: OpPut, Key: "tn\x00" + it.name, Val: []byte(server)})
		} else if string(owner.Val) != server {
			if rep.Shadowed == nil {
				rep.Shadowed = map[string]string{}
			}
			rep.Shadowed[it.name] = string(owner.Val)
		}
	}
	e.do(ctx, writes)
	return rep
}

func (e *Engine) changed(rep *PinReport, name, diff string) {
	if rep.Changed == nil {
		rep.Changed = map[string]string{}
	}
	rep.Changed[name] = diff
}

// pinDiff is a short, human-readable diff of the changed fields.
func pinDiff(old, cur map[string]json.RawMessage, oldHash, newHash string) string {
	if old == nil || cur == nil {
		return fmt.Sprintf("hash %s… → %s…", oldHash[:min(12, len(oldHash))], newHash[:min(12, len(newHash))])
	}
	var parts []string
	for _, f := range pinFields {
		o, n := old[f], cur[f]
		if bytes.Equal(o, n) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s → %s", f, clipJSON(o), clipJSON(n)))
	}
	if len(parts) == 0 {
		return "definition changed"
	}
	return strings.Join(parts, "; ")
}

func clipJSON(b json.RawMessage) string {
	if b == nil {
		return "(absent)"
	}
	s := string(b)
	if len(s) > 80 {
		// keep it valid UTF-8
		cut := 80
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// Blocked reports whether calls to the tool are withheld by pinning (mode
// block and a change awaiting approval), with the reason.
func (e *Engine) Blocked(server, tool string) (bool, string) {
	if e.cfg.Pinning.Mode != PinBlock {
		return false, ""
	}
	return e.blocked(context.Background(), server, tool)
}

func (e *Engine) blocked(ctx context.Context, server, tool string) (bool, string) {
	p, err := e.store.Get(ctx, pinKey(server, tool))
	if e.fail(err) {
		if e.cfg.OnStoreError.PinsOpen {
			return false, ""
		}
		return true, "tool pins unavailable (state store error; pins fail closed)"
	}
	return pinBlocked(p)
}

// pinBlocked reads a stored pin blob: blocked when a change awaits approval.
func pinBlocked(p []byte) (bool, string) {
	if len(p) == 0 || p[0] != 'B' {
		return false, ""
	}
	var r pinRecord
	if json.Unmarshal(p[1:], &r) != nil {
		return true, "tool definition changed since pinned (awaiting approval)"
	}
	return true, "tool definition changed since pinned (awaiting approval): " + r.Diff
}

// ErrNoPendingChange is returned by Approve when the tool has no change
// awaiting approval.
var ErrNoPendingChange = errors.New("no pending tool change")

// Approve accepts a tool's changed definition (an admin action): the new
// definition becomes the pin and calls are allowed again.
func (e *Engine) Approve(server, tool string) error {
	ctx := context.Background()
	rec, err := e.loadPin(ctx, server, tool)
	if err != nil {
		return fmt.Errorf("approve %s/%s: %w", server, tool, err)
	}
	if rec == nil || rec.Pending == "" {
		return fmt.Errorf("approve %s/%s: %w", server, tool, ErrNoPendingChange)
	}
	rec.Hash, rec.Def = rec.Pending, rec.PendingDef
	rec.Pending, rec.PendingDef, rec.Diff = "", nil, ""
	return e.savePin(ctx, server, tool, rec)
}
