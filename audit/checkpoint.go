package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CheckpointOrigin is the origin line of every checkpoint.
const CheckpointOrigin = "portcullis-audit/v1"

// Checkpoint is a signed statement that the log had Size records with head
// hash Head at Time. It is written to checkpoints.jsonl (one JSON object per
// line) and optionally pushed to sinks, so that the tail of the log cannot be
// removed or rewritten without detection by anyone holding a later
// checkpoint.
type Checkpoint struct {
	Origin  string `json:"origin"`
	Size    uint64 `json:"size"`
	Head    string `json:"head"`    // hex SHA-256 chain head after record Size
	Segment string `json:"segment"` // segment holding record Size
	Time    string `json:"time"`    // RFC 3339
	// The writer's signed promise about the next checkpoint, so that
	// verify can tell a missing (deleted) checkpoint from one not yet due:
	// another checkpoint follows within Every records, within IntervalMS
	// of a new record, and within IdleMS without records; Final marks the
	// checkpoint written when the log was closed. Zero in checkpoints
	// written before these fields existed.
	Every      uint64 `json:"every,omitempty"`
	IntervalMS int64  `json:"interval_ms,omitempty"`
	IdleMS     int64  `json:"idle_ms,omitempty"`
	Final      bool   `json:"final,omitempty"`
	KeyID      string `json:"key_id"` // hex of the first 4 bytes of SHA-256(public key)
	Sig        string `json:"sig"`    // base64 Ed25519 signature of SignedBody()
}

// SignedBody is the exact byte string that is signed: origin, size, head,
// segment and time, one per line (C2SP checkpoint style), then, when
// present, the promise as extension lines.
func (c *Checkpoint) SignedBody() []byte {
	b := []byte(c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + c.Head + "\n" + c.Segment + "\n" + c.Time + "\n")
	if c.Every > 0 || c.Final {
		b = fmt.Appendf(b, "every %d\ninterval_ms %d\nidle_ms %d\n", c.Every, c.IntervalMS, c.IdleMS)
	}
	if c.Final {
		b = append(b, "final\n"...)
	}
	return b
}

func (c *Checkpoint) marshal() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("audit: encode checkpoint: %w", err)
	}
	return append(b, '\n'), nil
}

func parseCheckpoint(b []byte) (Checkpoint, error) {
	var c Checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("malformed checkpoint: %w", err)
	}
	if c.Origin != CheckpointOrigin || len(c.Head) != 64 {
		return c, errors.New("malformed checkpoint: bad origin or head")
	}
	return c, nil
}

// Verify checks the signature against pub.
func (c *Checkpoint) Verify(pub ed25519.PublicKey) bool {
	sig, err := base64.StdEncoding.DecodeString(c.Sig)
	if err != nil {
		return false
	}
	return ed25519.Verify(pub, c.SignedBody(), sig)
}

// KeyID is the checkpoint key id of pub.
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:4])
}

type signer struct {
	priv  ed25519.PrivateKey
	keyID string
}

func (s signer) sign(c *Checkpoint) {
	c.KeyID = s.keyID
	c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(s.priv, c.SignedBody()))
}

// loadOrCreateSigner loads keyFile, or generates an ephemeral key when it is
// empty. Either way the public key is written into dir as
// checkpoint-<keyid>.pub so verify can find it (independent verification
// passes --pubkey instead).
func loadOrCreateSigner(keyFile, dir string) (signer, error) {
	var priv ed25519.PrivateKey
	if keyFile != "" {
		var err error
		priv, err = ReadPrivateKey(keyFile)
		if err != nil {
			return signer{}, err
		}
	} else {
		_, p, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return signer{}, fmt.Errorf("audit: generate checkpoint key: %w", err)
		}
		priv = p
	}
	pub := priv.Public().(ed25519.PublicKey)
	s := signer{priv: priv, keyID: KeyID(pub)}
	pubPath := filepath.Join(dir, "checkpoint-"+s.keyID+".pub")
	if _, err := os.Stat(pubPath); errors.Is(err, os.ErrNotExist) {
		pemBytes, err := MarshalPublicKey(pub)
		if err != nil {
			return signer{}, err
		}
		if err := os.WriteFile(pubPath, pemBytes, 0o644); err != nil {
			return signer{}, fmt.Errorf("audit: write public key: %w", err)
		}
	}
	return s, nil
}

// GenerateKey returns a new Ed25519 key pair PEM-encoded (PKCS#8 private,
// PKIX public).
func GenerateKey() (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, fmt.Errorf("encode private key: %w", err)
	}
	pubPEM, err = MarshalPublicKey(pub)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pubPEM, nil
}

// MarshalPublicKey PEM-encodes pub (PKIX).
func MarshalPublicKey(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ReadPrivateKey reads a PEM PKCS#8 Ed25519 private key.
func ReadPrivateKey(path string) (ed25519.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit: read checkpoint key: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, fmt.Errorf("audit: checkpoint key %s: no PEM block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("audit: checkpoint key %s: not an Ed25519 key", path)
	}
	return priv, nil
}

// ReadPublicKey reads a PEM PKIX Ed25519 public key.
func ReadPublicKey(path string) (ed25519.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil || !strings.Contains(blk.Type, "PUBLIC KEY") {
		return nil, fmt.Errorf("public key %s: no PEM PUBLIC KEY block", path)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key %s: not an Ed25519 key", path)
	}
	return pub, nil
}
