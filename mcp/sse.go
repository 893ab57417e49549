package mcp

import (
	"bytes"
	"errors"
)

// SSEEvent is one complete Server-Sent Event as it appeared on the wire.
type SSEEvent struct {
	// Raw is the event's bytes including its terminating blank line.
	Raw []byte
	// Data is the concatenation of its data: lines joined with "\n".
	Data []byte
	// ID, Event and Retry are the last values of those fields, if any.
	ID, Event, Retry string
	// HasData reports whether any data: field was present (priming events
	// carry an id and an empty data line).
	HasData bool
}

// ErrSSEEventTooLarge is returned when one event exceeds the configured bound.
var ErrSSEEventTooLarge = errors.New("SSE event larger than the configured limit")

// SSEParser reassembles SSE events across arbitrary chunk boundaries. Events
// end at a blank line ("\n\n", "\r\n\r\n" or "\r\r"). It holds at most one
// incomplete event.
type SSEParser struct {
	buf      []byte
	scanned  int // bytes of buf already searched for a terminator
	MaxEvent int
	// started is set once the first bytes of the stream have been seen; bom
	// is the length of a UTF-8 byte order mark at the start of buf (0 or 3).
	started bool
	bom     int
}

// utf8BOM is U+FEFF in UTF-8. The SSE spec (and the TypeScript SDK's
// eventsource parser) ignore one at the start of the stream; a gateway that
// did not would see a field-less first event while the client dispatches it.
const utf8BOM = "\xEF\xBB\xBF"

// Feed appends a chunk and returns every event completed by it. The
// returned events may reference chunk and the parser's buffer: they stay
// valid as long as chunk is not modified (the parser never writes over bytes
// it has returned). Only an incomplete tail is copied.
func (p *SSEParser) Feed(chunk []byte) ([]SSEEvent, error) {
	var buf []byte
	aliased := false
	if !p.started && len(p.buf) == 0 && len(chunk) >= len(utf8BOM) {
		// The first chunk decides about a BOM on its own: read it in place.
		p.started = true
		if string(chunk[:len(utf8BOM)]) == utf8BOM {
			p.bom = len(utf8BOM)
			p.scanned = p.bom
		}
		buf, aliased = chunk, true
	} else if !p.started {
		p.buf = append(p.buf, chunk...)
		// Decide about a leading BOM once its three bytes (or a mismatch)
		// are available.
		n := min(len(p.buf), len(utf8BOM))
		if string(p.buf[:n]) == utf8BOM[:n] && n < len(utf8BOM) {
			return nil, nil
		}
		p.started = true
		if n == len(utf8BOM) && string(p.buf[:n]) == utf8BOM {
			p.bom = len(utf8BOM)
			p.scanned = p.bom
		}
		buf = p.buf
	} else if len(p.buf) == 0 {
		// Nothing held back: read the chunk in place.
		buf, aliased = chunk, true
	} else {
		p.buf = append(p.buf, chunk...)
		buf = p.buf
	}
	var events []SSEEvent
	for {
		end := eventEnd(buf, p.scanned)
		if end < 0 {
			// Resume a few bytes back so a terminator split across chunks is found.
			p.scanned = max(0, len(buf)-4)
			break
		}
		p.scanned = 0
		raw := buf[:end]
		// The BOM stays in Raw (forwarded bytes are unchanged) but is not
		// part of the first field name.
		ev := parseEvent(raw[p.bom:])
		ev.Raw = raw
		events = append(events, ev)
		buf = buf[end:]
		p.bom = 0
	}
	if p.MaxEvent > 0 && len(buf) > p.MaxEvent {
		p.buf = buf
		return events, ErrSSEEventTooLarge
	}
	switch {
	case len(buf) == 0:
		p.buf = nil
	case aliased:
		// The caller owns chunk: keep a copy, with room for as much again
		// (an event split across chunks is usually completed by the next
		// one, which then needs no second copy).
		p.buf = append(make([]byte, 0, 2*len(buf)), buf...)
	case cap(buf) > 4*len(buf)+4096:
		// Compact so the held tail does not pin earlier chunks.
		p.buf = bytes.Clone(buf)
	default:
		p.buf = buf
	}
	return events, nil
}

// Pending returns the bytes of the incomplete event held back.
func (p *SSEParser) Pending() []byte { return p.buf }

// indexEOL is the index of the first CR or LF in b, or -1. Two vectorised
// byte searches beat a byte loop on the multi-kilobyte data lines of tool
// results (CR is rare: its search stops at the first LF).
func indexEOL(b []byte) int {
	lf := bytes.IndexByte(b, '\n')
	limit := len(b)
	if lf >= 0 {
		limit = lf
	}
	if cr := bytes.IndexByte(b[:limit], '\r'); cr >= 0 {
		return cr
	}
	return lf
}

// eventEnd returns the index just past the first blank-line terminator, or -1.
func eventEnd(b []byte, from int) int {
	for i := from; i < len(b); i++ {
		k := indexEOL(b[i:])
		if k < 0 {
			return -1
		}
		i += k
		c := b[i]
		// Line ends at i; length of this line terminator:
		n := 1
		if c == '\r' && i+1 < len(b) && b[i+1] == '\n' {
			n = 2
		} else if c == '\r' && i+1 == len(b) {
			return -1 // a lone CR at the end may be followed by LF
		}
		j := i + n
		if j >= len(b) {
			return -1
		}
		// Blank line follows?
		switch b[j] {
		case '\n':
			return j + 1
		case '\r':
			if j+1 < len(b) && b[j+1] == '\n' {
				return j + 2
			}
			if j+1 == len(b) {
				return -1
			}
			return j + 1
		}
		i = j - 1
	}
	return -1
}

func parseEvent(raw []byte) SSEEvent {
	ev := SSEEvent{Raw: raw}
	rest := raw
	for len(rest) > 0 {
		line := rest
		next := len(rest)
		if k := indexEOL(rest); k >= 0 {
			line = rest[:k]
			next = k + 1
			if rest[k] == '\r' && k+1 < len(rest) && rest[k+1] == '\n' {
				next = k + 2
			}
		}
		rest = rest[next:]
		if len(line) == 0 || line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if k := bytes.IndexByte(line, ':'); k >= 0 {
			field, value = line[:k], line[k+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			switch {
			case !ev.HasData:
				ev.Data = value // one data line (the common case): no copy
			case len(ev.Data) == 0:
				ev.Data = append([]byte{'\n'}, value...)
			default:
				// Join into a fresh slice: Data may still alias raw.
				ev.Data = append(append(append(make([]byte, 0, len(ev.Data)+1+len(value)), ev.Data...), '\n'), value...)
			}
			ev.HasData = true
		case "id":
			ev.ID = string(value)
		case "event":
			ev.Event = string(value)
		case "retry":
			ev.Retry = string(value)
		}
	}
	return ev
}

// AppendEvent re-encodes an event with new data, keeping its id, event and
// retry fields. data must not contain raw newlines (JSON from this package
// never does).
func AppendEvent(dst []byte, ev *SSEEvent, data []byte) []byte {
	if ev.Event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, ev.Event...)
		dst = append(dst, '\n')
	}
	if ev.ID != "" {
		dst = append(dst, "id: "...)
		dst = append(dst, ev.ID...)
		dst = append(dst, '\n')
	}
	if ev.Retry != "" {
		dst = append(dst, "retry: "...)
		dst = append(dst, ev.Retry...)
		dst = append(dst, '\n')
	}
	for len(data) > 0 {
		line := data
		if k := bytes.IndexByte(data, '\n'); k >= 0 {
			line, data = data[:k], data[k+1:]
		} else {
			data = nil
		}
		dst = append(dst, "data: "...)
		dst = append(dst, line...)
		dst = append(dst, '\n')
	}
	return append(dst, '\n')
}
