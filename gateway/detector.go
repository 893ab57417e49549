package gateway

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/portcullis-mcp/portcullis/config"
	"github.com/portcullis-mcp/portcullis/detectors"
	"github.com/portcullis-mcp/portcullis/detectors/injection"
	"github.com/portcullis-mcp/portcullis/detectors/redact"
	"github.com/portcullis-mcp/portcullis/extproc"
)

// newDetector adapts the detection engine to the processor (nil when
// detection is disabled).
func newDetector(cfg *config.Config) (extproc.Detector, error) {
	if !cfg.Detectors.DetectionEnabled() {
		return nil, nil
	}
	opts := scanOptions(cfg)
	eng, err := detectors.NewEngine(opts)
	if err != nil {
		return nil, fmt.Errorf("detectors: %w", err)
	}
	// Client→server content is user-style text: the request-plane model
	// and threshold judge it (extproc.RequestScanner).
	ropts := opts
	ropts.Plane = injection.PlaneRequest
	req, err := detectors.NewEngine(ropts)
	if err != nil {
		return nil, fmt.Errorf("detectors (request plane): %w", err)
	}
	mode, err := redact.ParseMode(cfg.Detectors.Redaction)
	if err != nil {
		return nil, fmt.Errorf("detectors.redaction: %w", err)
	}
	key := make([]byte, 32)
	if f := cfg.Detectors.HashKeyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("detectors.hash_key_file: %w", err)
		}
		if len(b) < 16 {
			return nil, fmt.Errorf("detectors.hash_key_file: key shorter than 16 bytes")
		}
		key = b
	} else if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("detectors: hash key: %w", err)
	}
	return &detectorAdapter{eng: eng, req: req, opts: opts, mode: mode, key: key, vaults: newVaults(10000, time.Hour)}, nil
}

// scanOptions sizes the scan caps to the largest message the gateway
// accepts, so nothing the gateway forwards is left unscanned (issue 11 #7);
// a document past them is refused, never passed.
func scanOptions(cfg *config.Config) detectors.Options {
	limit := int(max(cfg.Limits.MaxBodyBytes, int64(cfg.Limits.MaxSSEEventBytes)))
	o := detectors.Options{MaxDepth: cfg.Limits.MaxDepth}
	if limit > 0 {
		o.MaxDocumentBytes, o.MaxLeafBytes, o.MaxScanBytes = max(limit, 8<<20), limit, limit
	}
	return o
}

// detectorAdapter turns detectors.Engine into extproc.Detector: vocabulary
// mapping to the policy's entity names and one redaction vault per session.
type detectorAdapter struct {
	eng  *detectors.Engine // result plane: server→client content
	req  *detectors.Engine // request plane: client→server content
	opts detectors.Options
	// byTypes caches redaction engines restricted to a policy's
	// redact.types (key: the sorted, joined type list).
	byTypes     sync.Map
	cachedTypes atomic.Int64
	mode        redact.Mode
	key         []byte
	vaults      *vaults
}

func (d *detectorAdapter) Scan(raw []byte) ([]extproc.Finding, error) {
	out, _, err := scanWith(d.eng, raw)
	return out, err
}

// ScanRequest judges client→server content with the request-plane
// injection model and threshold. A request-plane injection finding stands
// only when the result-plane model sees an instruction in the same value
// too (score ≥ minCorroboration): the request-plane model scores some
// degenerate values near 1 (a run of 300 "p"s: 1.00, result plane 0.00)
// while every injection it refuses in the held-out sets scores far above
// that on the result plane. The second scan runs only for flagged values.
func (d *detectorAdapter) ScanRequest(raw []byte) ([]extproc.Finding, error) {
	out, _, err := d.scanRequest(raw)
	return out, err
}

// scanRequest is ScanRequest keeping the request plane's report (its PII
// and secret matches serve redaction).
func (d *detectorAdapter) scanRequest(raw []byte) ([]extproc.Finding, *detectors.Report, error) {
	out, kept, err := scanWith(d.req, raw)
	if err != nil || !slices.ContainsFunc(out, isInjection) {
		return out, kept, err
	}
	rep, err := d.eng.ScanJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	if rep.Injection.Score >= minCorroboration {
		return out, kept, nil
	}
	return slices.DeleteFunc(out, isInjection), kept, nil
}

// ScanKept is Scan or ScanRequest returning the report, so RedactWith
// redacts from its matches instead of detecting again.
func (d *detectorAdapter) ScanKept(raw []byte, request bool) ([]extproc.Finding, extproc.ScanReport, error) {
	var out []extproc.Finding
	var rep *detectors.Report
	var err error
	if request {
		out, rep, err = d.scanRequest(raw)
	} else {
		out, rep, err = scanWith(d.eng, raw)
	}
	if err != nil || rep == nil {
		return out, nil, err
	}
	return out, rep, nil
}

// minCorroboration is the result-plane injection score below which a
// request-plane injection finding is dropped as uncorroborated.
const minCorroboration = 0.05

func isInjection(f extproc.Finding) bool { return f.Detector == detectors.DetInjection }

func scanWith(eng *detectors.Engine, raw []byte) ([]extproc.Finding, *detectors.Report, error) {
	rep, err := eng.ScanJSON(raw)
	if err != nil {
		return nil, nil, err
	}
	if rep.Truncated {
		// Part of the value was not scanned: refusing is the only safe answer.
		return nil, nil, errTruncated
	}
	out := make([]extproc.Finding, 0, len(rep.Findings)+1)
	sawInjection := false
	for _, f := range rep.Findings {
		out = append(out, convert(f))
		sawInjection = sawInjection || f.Detector == detectors.DetInjection
	}
	if rep.Injection.Flagged && !sawInjection {
		out = append(out, extproc.Finding{Detector: detectors.DetInjection, Category: "prompt_injection", Confidence: rep.Injection.Score, Count: 1})
	}
	return out, rep, nil
}

func (d *detectorAdapter) ScanTools(result []byte) (map[string]string, error) {
	rep, err := d.eng.ScanTools(result)
	if err != nil {
		return nil, err
	}
	var bad map[string]string
	for _, f := range rep.Findings {
		// Paths look like "tools.2.description": map the index to the name.
		rest, ok := strings.CutPrefix(f.Path, "tools.")
		if !ok {
			continue
		}
		idx, _, _ := strings.Cut(rest, ".")
		name := toolName(result, idx)
		if name == "" {
			continue
		}
		if bad == nil {
			bad = map[string]string{}
		}
		bad[name] = f.Category
	}
	return bad, nil
}

// errTruncated: a scan cap stopped part of a value from being inspected.
var errTruncated = errors.New("the content exceeds the detectors' scan limits")

func (d *detectorAdapter) Redact(raw []byte, vault string, types []string, style string) ([]byte, error) {
	return d.RedactWith(raw, nil, vault, types, style)
}

// RedactWith is Redact from the matches of rep, the report ScanKept
// returned for raw; detectors.Engine.RedactReport detects again when rep
// is nil, belongs to other bytes or to a scan that cannot serve this
// redaction (same output either way).
func (d *detectorAdapter) RedactWith(raw []byte, kept extproc.ScanReport, vault string, types []string, style string) ([]byte, error) {
	rep, _ := kept.(*detectors.Report)
	eng, err := d.redactor(types)
	if err != nil {
		return nil, err
	}
	mode := d.mode
	switch style {
	case "":
	case "mask", "remove":
		// remove: a typed placeholder from a one-way vault; nothing can
		// bring the value back.
		mode = redact.Mask
	case "hash":
		mode = redact.Hash
	case "synthetic":
		mode = redact.Synthetic
	default:
		return nil, fmt.Errorf("redact: unknown style %q", style)
	}
	var v *redact.Vault
	if vault == "" || style == "remove" {
		v = redact.NewVault(redact.VaultOptions{TTL: time.Minute, Key: d.key})
	} else {
		v = d.vaults.get(vault, d.key)
	}
	out, _, err := eng.RedactReport(raw, rep, mode, v)
	if out == nil && err == nil {
		out = raw // nothing to redact
	}
	return out, err
}

// redactor returns an engine that redacts only the given policy entity
// types (all PII and secrets when types is empty). Secrets are redacted only
// when a secret type is named.
func (d *detectorAdapter) redactor(types []string) (*detectors.Engine, error) {
	if len(types) == 0 {
		return d.eng, nil
	}
	sorted := slices.Clone(types)
	slices.Sort(sorted)
	key := strings.Join(slices.Compact(sorted), ",")
	if e, ok := d.byTypes.Load(key); ok {
		return e.(*detectors.Engine), nil
	}
	opts := d.opts
	opts.DisableInjection, opts.DisableExfil, opts.DisableInvisible, opts.DisableSecrets = true, true, true, true
	for _, t := range sorted {
		if t == "secret" || strings.HasPrefix(t, "secret") || t == "api_key" {
			opts.DisableSecrets = false
			continue
		}
		for presidio, name := range entityNames {
			if name == t || strings.EqualFold(presidio, t) {
				opts.PIITypes = append(opts.PIITypes, presidio)
			}
		}
	}
	if len(opts.PIITypes) == 0 {
		opts.DisablePII = true
	}
	e, err := detectors.NewEngine(opts)
	if err != nil {
		return nil, err
	}
	if d.cachedTypes.Add(1) <= 64 { // bounded: policies name few type sets
		d.byTypes.Store(key, e)
	}
	return e, nil
}

func (d *detectorAdapter) Restore(raw []byte, vault string) ([]byte, int, error) {
	if vault == "" {
		return raw, 0, nil
	}
	v := d.vaults.lookup(vault)
	if v == nil {
		return raw, 0, nil
	}
	out, n, err := v.RestoreJSON(raw)
	if errors.Is(err, redact.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", extproc.ErrStateUnavailable, err)
	}
	return out, n, err
}

// entityNames maps Presidio entity names to the policy vocabulary.
var entityNames = map[string]string{
	"CREDIT_CARD": "credit_card", "US_SSN": "us_ssn", "IBAN_CODE": "iban", "EMAIL_ADDRESS": "email",
	"PHONE_NUMBER": "phone", "IP_ADDRESS": "ip_address", "DATE_OF_BIRTH": "date_of_birth", "DATE_TIME": "date_of_birth",
	"MEDICAL_RECORD": "medical_record_number", "MEDICAL_RECORD_NUMBER": "medical_record_number",
	"US_DRIVER_LICENSE": "us_driver_license", "US_PASSPORT": "us_passport", "PERSON": "person",
	"LOCATION": "address", "ADDRESS": "address", "STREET_ADDRESS": "address",
}

func convert(f detectors.Finding) extproc.Finding {
	out := extproc.Finding{Detector: f.Detector, Category: f.Category, Path: f.Path, Confidence: f.Confidence, Count: 1, Value: f.Value}
	switch f.Detector {
	case detectors.DetPII:
		out.Category = "pii"
		if n, ok := entityNames[f.EntityType]; ok {
			out.EntityType = n
		} else {
			out.EntityType = strings.ToLower(f.EntityType)
		}
		if out.EntityType == "credit_card" || out.EntityType == "iban" {
			out.Category = "pci"
		}
	case detectors.DetSecret:
		out.Category, out.EntityType = "secret", strings.ToLower(f.Category)
	case detectors.DetInjection:
		out.Category = "prompt_injection"
	}
	return out
}

var (
	_ extproc.Detector       = (*detectorAdapter)(nil)
	_ extproc.RequestScanner = (*detectorAdapter)(nil)
	_ extproc.ReportScanner  = (*detectorAdapter)(nil)
)

func toolName(result []byte, idx string) string {
	return gjson.GetBytes(result, "tools."+idx+".name").String()
}
