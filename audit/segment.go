package audit

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file: the on-disk segments: naming, the writer (append, sync,
// rotation, checkpoints, directory lock) and parsing of record lines.

const (
	segPrefix       = "seg-"
	segSuffix       = ".jsonl"
	checkpointsFile = "checkpoints.jsonl"
	linePrefix      = `{"rec":`
	lineHashKey     = `,"hash":"`
)

func segmentName(i int) string { return fmt.Sprintf("%s%08d%s", segPrefix, i, segSuffix) }

func parseSegmentName(name string) (int, bool) {
	if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix))
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// listSegments returns the segment indexes in dir, ascending.
func listSegments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, e := range ents {
		if n, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			idx = append(idx, n)
		}
	}
	slices.Sort(idx)
	return idx, nil
}

type writer struct {
	dir      string
	maxBytes int64
	seg      *os.File
	segIdx   int
	segSize  int64
	bw       *bufio.Writer
	cp       *os.File
	seq      uint64
	head     [32]byte
	cpSize   uint64
	cpTime   time.Time // when the last checkpoint was written (zero: none this run)
	unsynced int
	h        hash.Hash
	buf      []byte
	pending  [][]byte
	lock     *os.File
}

// openWriter resumes or starts the chain in dir. It returns a note when a
// torn tail had to be cut off.
func openWriter(dir string, maxBytes int64) (*writer, string, error) {
	w := &writer{dir: dir, maxBytes: maxBytes, h: sha256.New(), buf: make([]byte, 0, 4096)}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, "", fmt.Errorf("audit: list segments: %w", err)
	}
	var note string
	if len(segs) == 0 {
		w.segIdx = 1
	} else {
		w.segIdx = segs[len(segs)-1]
		// Find the last complete record, walking back over empty segments.
		for i := len(segs) - 1; i >= 0; i-- {
			path := filepath.Join(dir, segmentName(segs[i]))
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, "", fmt.Errorf("audit: resume: %w", err)
			}
			end := bytes.LastIndexByte(data, '\n') + 1
			if end < len(data) {
				if i != len(segs)-1 {
					return nil, "", fmt.Errorf("audit: resume: segment %s ends in a partial record; run portcullis audit verify", segmentName(segs[i]))
				}
				if err := os.Truncate(path, int64(end)); err != nil {
					return nil, "", fmt.Errorf("audit: resume: cut torn tail: %w", err)
				}
				note = fmt.Sprintf("torn last write: cut %d bytes at offset %d of %s", len(data)-end, end, segmentName(segs[i]))
			}
			if end == 0 {
				continue
			}
			prev := bytes.LastIndexByte(data[:end-1], '\n') + 1
			ln, err := parseLine(data[prev : end-1])
			if err != nil {
				return nil, "", fmt.Errorf("audit: resume: last record of %s: %w", segmentName(segs[i]), err)
			}
			w.seq = ln.seq
			w.head = ln.hash
			break
		}
	}
	if err := w.openSegment(); err != nil {
		return nil, "", err
	}
	cpPath := filepath.Join(dir, checkpointsFile)
	if data, err := os.ReadFile(cpPath); err == nil {
		end := bytes.LastIndexByte(data, '\n') + 1
		if end < len(data) {
			if err := os.Truncate(cpPath, int64(end)); err != nil {
				return nil, "", fmt.Errorf("audit: resume: cut torn checkpoint: %w", err)
			}
		}
		if end > 0 {
			prev := bytes.LastIndexByte(data[:end-1], '\n') + 1
			if cp, err := parseCheckpoint(data[prev : end-1]); err == nil && cp.Size <= w.seq {
				w.cpSize = cp.Size
			}
		}
	}
	w.cp, err = os.OpenFile(cpPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		w.seg.Close()
		return nil, "", fmt.Errorf("audit: open checkpoints: %w", err)
	}
	return w, note, nil
}

func (w *writer) openSegment() error {
	f, err := os.OpenFile(filepath.Join(w.dir, segmentName(w.segIdx)), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open segment: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: stat segment: %w", err)
	}
	w.seg, w.segSize = f, st.Size()
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(f, 64<<10)
	} else {
		w.bw.Reset(f)
	}
	return syncDir(w.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit: sync dir: %w", err)
	}
	return nil
}

// append encodes, chains and buffers one record; it returns the canonical
// record bytes (valid until the next call).
func (w *writer) append(r *Record, content bool) ([]byte, error) {
	if w.segSize >= w.maxBytes {
		if err := w.rotate(); err != nil {
			return nil, err
		}
	}
	seq := w.seq + 1
	b := append(w.buf[:0], linePrefix...)
	b = r.appendCanonical(b, seq, w.head[:], content)
	canon := b[len(linePrefix):]
	w.h.Reset()
	w.h.Write(w.head[:])
	w.h.Write(canon)
	var sum [32]byte
	w.h.Sum(sum[:0])
	b = append(b, lineHashKey...)
	b = hex.AppendEncode(b, sum[:])
	b = append(b, '"', '}', '\n')
	w.buf = b
	if _, err := w.bw.Write(b); err != nil {
		return nil, fmt.Errorf("audit: write: %w", err)
	}
	w.seq, w.head = seq, sum
	w.segSize += int64(len(b))
	w.unsynced++
	return canon, nil
}

func (w *writer) sync() error {
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("audit: flush: %w", err)
	}
	if err := w.seg.Sync(); err != nil {
		return fmt.Errorf("audit: fsync: %w", err)
	}
	w.unsynced = 0
	return nil
}

func (w *writer) rotate() error {
	if err := w.sync(); err != nil {
		return err
	}
	if err := w.seg.Close(); err != nil {
		return fmt.Errorf("audit: close segment: %w", err)
	}
	w.segIdx++
	return w.openSegment()
}

func (w *writer) writeCheckpoint(line []byte) error {
	if _, err := w.cp.Write(line); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	if err := w.cp.Sync(); err != nil {
		return fmt.Errorf("audit: fsync checkpoint: %w", err)
	}
	return nil
}

func (w *writer) close() error {
	var errs []error
	if w.bw != nil {
		if err := w.bw.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	if w.seg != nil {
		if err := w.seg.Sync(); err != nil {
			errs = append(errs, err)
		}
		if err := w.seg.Close(); err != nil {
			errs = append(errs, err)
		}
		w.seg = nil
	}
	if w.cp != nil {
		if err := w.cp.Close(); err != nil {
			errs = append(errs, err)
		}
		w.cp = nil
	}
	if w.lock != nil {
		w.lock.Close()
		w.lock = nil
	}
	return errors.Join(errs...)
}

// line is one parsed segment line.
type line struct {
	rec  []byte // canonical record bytes
	seq  uint64
	prev [32]byte
	hash [32]byte
}

var errMalformed = errors.New("malformed record line")

// parseLine parses `{"rec":<canon>,"hash":"<64 hex>"}` (without newline).
func parseLine(b []byte) (line, error) {
	var ln line
	const tail = len(lineHashKey) + 64 + 2
	if len(b) < len(linePrefix)+tail+2 || !bytes.HasPrefix(b, []byte(linePrefix)) || !bytes.HasSuffix(b, []byte(`"}`)) {
		return ln, errMalformed
	}
	hk := len(b) - tail
	if string(b[hk:hk+len(lineHashKey)]) != lineHashKey {
		return ln, errMalformed
	}
	if _, err := hex.Decode(ln.hash[:], b[hk+len(lineHashKey):len(b)-2]); err != nil {
		return ln, errMalformed
	}
	ln.rec = b[len(linePrefix):hk]
	// The canonical encoding always starts {"seq":N,"prev_hash":"<hex>"
	r := ln.rec
	const p1, p2 = `{"seq":`, `,"prev_hash":"`
	if !bytes.HasPrefix(r, []byte(p1)) {
		return ln, errMalformed
	}
	r = r[len(p1):]
	i := bytes.IndexByte(r, ',')
	if i <= 0 {
		return ln, errMalformed
	}
	seq, err := strconv.ParseUint(string(r[:i]), 10, 64)
	if err != nil {
		return ln, errMalformed
	}
	ln.seq = seq
	r = r[i:]
	if !bytes.HasPrefix(r, []byte(p2)) || len(r) < len(p2)+65 || r[len(p2)+64] != '"' {
		return ln, errMalformed
	}
	if _, err := hex.Decode(ln.prev[:], r[len(p2):len(p2)+64]); err != nil {
		return ln, errMalformed
	}
	return ln, nil
}

// chainHash is SHA-256(prev || rec).
func chainHash(prev [32]byte, rec []byte) [32]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(rec)
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}
