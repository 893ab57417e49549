package decisionlog

import (
	"strconv"
	"time"

	"github.com/portcullis-mcp/portcullis/internal/jsonstr"
)

// appendDecision appends d as one JSON object, byte-for-byte what
// json.Marshal produces for Decision (FuzzAppendMatchesMarshal pins this),
// without reflection: the decision log is written on the request path.
func appendDecision(b []byte, d *Decision) []byte {
	b = append(b, `{"time":"`...)
	b = d.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","decision_id":`...)
	b = jsonstr.Append(b, d.ID)
	b = appendOptString(b, "principal", d.Principal)
	b = appendOptString(b, "client_id", d.ClientID)
	if len(d.Actor) > 0 {
		b = append(b, `,"actor":[`...)
		for i, a := range d.Actor {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, a)
		}
		b = append(b, ']')
	}
	b = appendOptString(b, "server", d.Server)
	b = appendOptString(b, "method", d.Method)
	b = appendOptString(b, "tool", d.Tool)
	b = appendOptString(b, "plane", d.Plane)
	b = append(b, `,"action":`...)
	b = jsonstr.Append(b, d.Action)
	b = appendOptString(b, "would_action", d.WouldAction)
	b = appendOptString(b, "mode", d.Mode)
	b = append(b, `,"enforced":`...)
	b = strconv.AppendBool(b, d.Enforced)
	b = appendOptString(b, "rule", d.Rule)
	b = appendOptString(b, "policy_version", d.PolicyVersion)
	b = append(b, `,"score":`...)
	b = strconv.AppendInt(b, int64(d.Score), 10)
	if len(d.Factors) > 0 {
		b = append(b, `,"factors":[`...)
		for i, f := range d.Factors {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = jsonstr.Append(b, f.Name)
			b = append(b, `,"score":`...)
			b = strconv.AppendInt(b, int64(f.Score), 10)
			b = append(b, `,"weight":`...)
			b = strconv.AppendInt(b, int64(f.Weight), 10)
			b = appendOptString(b, "reason", f.Reason)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(d.Findings) > 0 {
		b = append(b, `,"findings":[`...)
		for i, f := range d.Findings {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b = jsonstr.Append(b, f.Type)
			b = appendOptString(b, "rule", f.Rule)
			b = appendOptString(b, "path", f.Path)
			b = append(b, `,"start":`...)
			b = strconv.AppendInt(b, int64(f.Start), 10)
			b = append(b, `,"end":`...)
			b = strconv.AppendInt(b, int64(f.End), 10)
			if f.Count != 0 {
				b = append(b, `,"count":`...)
				b = strconv.AppendInt(b, int64(f.Count), 10)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"latency_us":`...)
	b = appendLatency(b, d.Latency)
	return append(b, '}')
}

func appendLatency(b []byte, l Latency) []byte {
	b = append(b, '{')
	first := true
	l.Each(func(p string, d time.Duration) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, p...)
		b = append(b, `":`...)
		b = strconv.AppendInt(b, d.Microseconds(), 10)
	})
	return append(b, '}')
}

func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":`...)
	return jsonstr.Append(b, v)
}
