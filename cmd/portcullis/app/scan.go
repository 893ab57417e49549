package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/portcullis-mcp/portcullis/detectors"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
)

func init() {
	register(command{name: "scan", summary: "scan text, a JSON document or a JSONL file for injection, PII, secrets, exfiltration", run: runScan})
}

// scanItem is one PII / secret / other finding in the CLI output. Start and
// End are character (rune) offsets into the scanned text (the JSON leaf
// named by Path in --json mode).
type scanItem struct {
	Type       string  `json:"type"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Value      string  `json:"value,omitempty"`
	Confidence float64 `json:"confidence"`
	Path       string  `json:"path,omitempty"`
}

type scanVerdict struct {
	File      string                     `json:"file,omitempty"`
	Injection detectors.InjectionSummary `json:"injection"`
	PII       []scanItem                 `json:"pii"`
	Secrets   []scanItem                 `json:"secrets"`
	Exfil     []scanItem                 `json:"exfil,omitempty"`
	Invisible []scanItem                 `json:"invisible,omitempty"`
	Poison    []scanItem                 `json:"poison,omitempty"`
	Redacted  *string                    `json:"redacted,omitempty"`
	Error     string                     `json:"error,omitempty"`
}

// runScan: portcullis scan [--json | --tools | --jsonl FILE] [--plane request|result] [--redact MODE] [--no-values] [--fail] [--text TEXT | FILE... | -]
//
// Positional arguments are files ("-" = stdin), one verdict each; --text
// scans a literal string. A positional that is not a readable file is an
// error, never scanned as text: scanning the path string would report a
// file clean without reading it.
func runScan(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("scan")
	asJSON := fs.Bool("json", false, "input is one JSON document (e.g. a JSON-RPC message); every string leaf is scanned")
	tools := fs.Bool("tools", false, "input is a tools/list result; check it for tool poisoning")
	jsonl := fs.String("jsonl", "", `read FILE ("-" = stdin): one {"text": ...} object per line, one verdict per line`)
	redactMode := fs.String("redact", "", "also output the input redacted: mask, hash or synthetic")
	noValues := fs.Bool("no-values", false, "omit matched values from the output")
	fail := fs.Bool("fail", false, "exit 1 when anything is flagged")
	plane := fs.String("plane", "result", `injection threshold: "result" (tool output) or "request" (prompts, tool arguments)`)
	var texts []string
	fs.Func("text", "scan this literal text (repeatable; one verdict each)", func(s string) error { texts = append(texts, s); return nil })
	// Flags may follow the text: parse, take one positional, repeat.
	var pos []string
	for {
		if err := parseFlags(fs, args, stderr); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	modes := 0
	for _, b := range []bool{*asJSON, *tools, *jsonl != ""} {
		if b {
			modes++
		}
	}
	if modes > 1 {
		return usageError(errors.New("scan: --json, --tools and --jsonl are exclusive"))
	}
	var mode redact.Mode
	if *redactMode != "" {
		m, err := redact.ParseMode(*redactMode)
		if err != nil {
			return usageError(fmt.Errorf("scan: %w", err))
		}
		mode = m
	}
	var opts detectors.Options
	switch *plane {
	case "result":
		opts.Plane = injection.PlaneResult
	case "request":
		opts.Plane = injection.PlaneRequest
	default:
		return usageError(fmt.Errorf("scan: --plane %q: want request or result", *plane))
	}
	eng, err := detectors.NewEngine(opts)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	s := scanner{eng: eng, mode: mode, noValues: *noValues}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	flagged := false
	emit := func(v scanVerdict) error {
		flagged = flagged || v.flagged()
		return enc.Encode(v)
	}

	if *jsonl != "" {
		if len(pos) != 0 {
			return usageError(fmt.Errorf("scan: unexpected arguments with --jsonl: %v", pos))
		}
		var r io.Reader = os.Stdin
		if *jsonl != "-" {
			f, err := os.Open(*jsonl)
			if err != nil {
				return fmt.Errorf("scan: %w", err)
			}
			defer f.Close()
			r = f
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var row struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil || row.Text == nil {
				if err := emit(scanVerdict{PII: []scanItem{}, Secrets: []scanItem{}, Error: fmt.Sprintf("line %d: want {\"text\": ...}", line)}); err != nil {
					return err
				}
				continue
			}
			if err := emit(s.text(*row.Text)); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("scan: %s: %w", *jsonl, err)
		}
	} else {
		type input struct{ name, body string }
		var ins []input
		if len(texts) > 0 && len(pos) > 0 {
			return usageError(fmt.Errorf("scan: --text and file arguments are exclusive (got files %v)", pos))
		}
		for _, t := range texts {
			ins = append(ins, input{body: t})
		}
		if len(texts) == 0 && len(pos) == 0 {
			pos = []string{"-"}
		}
		for _, p := range pos {
			var b []byte
			var err error
			if p == "-" {
				b, err = io.ReadAll(io.LimitReader(os.Stdin, maxScanInput+1))
			} else {
				b, err = readLimited(p)
			}
			if err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("scan: %w (use --text to scan a literal string)", err)}
			}
			if len(b) > maxScanInput {
				return &ExitError{Code: 2, Err: fmt.Errorf("scan: %s: larger than %d bytes", p, maxScanInput)}
			}
			name := p
			if len(pos) == 1 {
				name = "" // one input: keep the output shape of the text modes
			}
			ins = append(ins, input{name: name, body: string(b)})
		}
		for _, in := range ins {
			var v scanVerdict
			var err error
			switch {
			case *asJSON:
				v, err = s.json([]byte(in.body))
			case *tools:
				v, err = s.tools([]byte(in.body))
			default:
				v = s.text(in.body)
			}
			if err != nil {
				if in.name != "" {
					err = fmt.Errorf("%s: %w", in.name, err)
				}
				return &ExitError{Code: 2, Err: fmt.Errorf("scan: %w", err)}
			}
			v.File = in.name
			if err := emit(v); err != nil {
				return err
			}
		}
	}
	if *fail && flagged {
		return &ExitError{Code: 1}
	}
	return nil
}

// maxScanInput bounds one scanned file or stdin.
const maxScanInput = 64 << 20

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxScanInput+1))
}

func (v scanVerdict) flagged() bool {
	return v.Injection.Flagged || len(v.PII) > 0 || len(v.Secrets) > 0 || len(v.Exfil) > 0 || len(v.Invisible) > 0 || len(v.Poison) > 0
}

type scanner struct {
	eng      *detectors.Engine
	mode     redact.Mode
	noValues bool
}

func (s scanner) verdict(r *detectors.Report, leaf func(path string) string) scanVerdict {
	v := scanVerdict{Injection: r.Injection, PII: []scanItem{}, Secrets: []scanItem{}}
	if v.Injection.Reasons == nil {
		v.Injection.Reasons = []string{}
	}
	for _, f := range r.Findings {
		text := leaf(f.Path)
		st, en := detectors.RuneSpan(text, f.Start, f.End)
		it := scanItem{Type: f.Category, Start: st, End: en, Confidence: f.Confidence, Path: f.Path}
		if !s.noValues {
			it.Value = f.Value
		}
		switch f.Detector {
		case detectors.DetPII:
			it.Type = detectors.EntityName(f.EntityType)
			v.PII = append(v.PII, it)
		case detectors.DetSecret:
			v.Secrets = append(v.Secrets, it)
		case detectors.DetExfil:
			v.Exfil = append(v.Exfil, it)
		case detectors.DetInvisible:
			it.Value = ""
			v.Invisible = append(v.Invisible, it)
		case detectors.DetPoison:
			v.Poison = append(v.Poison, it)
		}
	}
	return v
}

func (s scanner) text(in string) scanVerdict {
	v := s.verdict(s.eng.ScanText(in), func(string) string { return in })
	if s.mode != "" {
		out, _, err := s.eng.RedactText(in, s.mode, redact.NewVault(redact.VaultOptions{}))
		if err != nil {
			v.Error = err.Error()
		} else {
			v.Redacted = &out
		}
	}
	return v
}

func (s scanner) json(raw []byte) (scanVerdict, error) {
	r, err := s.eng.ScanJSON(raw)
	if err != nil {
		return scanVerdict{}, err
	}
	leaves, err := detectors.StringLeaves(raw)
	if err != nil {
		return scanVerdict{}, err
	}
	v := s.verdict(r, func(p string) string { return leaves[p] })
	if s.mode != "" {
		out, _, err := s.eng.RedactJSON(raw, s.mode, redact.NewVault(redact.VaultOptions{}))
		if err != nil {
			return scanVerdict{}, err
		}
		str := string(out)
		v.Redacted = &str
	}
	return v, nil
}

func (s scanner) tools(raw []byte) (scanVerdict, error) {
	r, err := s.eng.ScanTools(raw)
	if err != nil {
		return scanVerdict{}, err
	}
	leaves, err := detectors.StringLeaves(raw)
	if err != nil {
		return scanVerdict{}, err
	}
	return s.verdict(r, func(p string) string { return leaves[p] }), nil
}
