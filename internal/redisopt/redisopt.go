package redisopt

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Options are the connection settings of one Redis deployment (YAML).
type Options struct {
	// Address is host:port of a single Redis. Exactly one of Address,
	// Cluster and Sentinel.Addresses is set.
	Address string `yaml:"address"`
	// Cluster lists seed host:port addresses of a Redis Cluster.
	Cluster []string `yaml:"cluster"`
	// Sentinel selects a master through Redis Sentinel.
	Sentinel Sentinel `yaml:"sentinel"`
	// Username is the ACL user (empty: the default user).
	Username string `yaml:"username"`
	// PasswordFile / PasswordEnv hold the password (at most one). The
	// value is read when the client is built and never logged.
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
	// DB selects the database (single and Sentinel only).
	DB  int `yaml:"db"`
	TLS TLS `yaml:"tls"`
	// Timeouts; defaults 2s dial, 1s read and write. A slow Redis makes a
	// state operation fail after them, which the caller turns into its
	// explicit on_unavailable behaviour.
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// PoolSize is the connection pool size per node (default: go-redis').
	PoolSize int `yaml:"pool_size"`
}

// Sentinel selects a master by name from a set of Sentinels.
type Sentinel struct {
	Master    string   `yaml:"master"`
	Addresses []string `yaml:"addresses"`
	// Username and password of the Sentinels themselves, if they need one.
	Username     string `yaml:"username"`
	PasswordFile string `yaml:"password_file"`
	PasswordEnv  string `yaml:"password_env"`
}

// TLS configures transport security to Redis.
type TLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of CAs to trust (empty: the system pool).
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a client certificate (both or neither).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server certificate.
	ServerName string `yaml:"server_name"`
}

// Defaults for zero timeouts.
const (
	DefaultDialTimeout = 2 * time.Second
	DefaultIOTimeout   = time.Second
)

// Enabled reports whether any Redis is configured.
func (o *Options) Enabled() bool {
	return o != nil && (o.Address != "" || len(o.Cluster) > 0 || len(o.Sentinel.Addresses) > 0 || o.Sentinel.Master != "")
}

// Mode is "single", "cluster", "sentinel" or "" (not configured).
func (o *Options) Mode() string {
	switch {
	case !o.Enabled():
		return ""
	case len(o.Cluster) > 0:
		return "cluster"
	case o.Sentinel.Master != "" || len(o.Sentinel.Addresses) > 0:
		return "sentinel"
	}
	return "single"
}

// ApplyDefaults fills zero timeouts.
func (o *Options) ApplyDefaults() {
	if o.DialTimeout == 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultIOTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultIOTimeout
	}
}

// Validate reports every problem, each prefixed with its field path below
// the options (e.g. "tls.cert_file: ..."); callers add their own prefix.
func (o *Options) Validate() error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	n := 0
	if o.Address != "" {
		n++
		if err := hostPort(o.Address); err != nil {
			add("address", "%v", err)
		}
	}
	if len(o.Cluster) > 0 {
		n++
		for i, a := range o.Cluster {
			if err := hostPort(a); err != nil {
				add(fmt.Sprintf("cluster[%d]", i), "%v", err)
			}
		}
		if o.DB != 0 {
			add("db", "a Redis Cluster has only database 0, got %d", o.DB)
		}
	}
	if o.Sentinel.Master != "" || len(o.Sentinel.Addresses) > 0 {
		n++
		if o.Sentinel.Master == "" {
			add("sentinel.master", "required with sentinel.addresses")
		}
		if len(o.Sentinel.Addresses) == 0 {
			add("sentinel.addresses", "required with sentinel.master")
		}
		for i, a := range o.Sentinel.Addresses {
			if err := hostPort(a); err != nil {
				add(fmt.Sprintf("sentinel.addresses[%d]", i), "%v", err)
			}
		}
		if o.Sentinel.PasswordFile != "" && o.Sentinel.PasswordEnv != "" {
			add("sentinel.password_file", "set at most one of password_file and password_env")
		}
	}
	if n > 1 {
		add("address", "set exactly one of address, cluster and sentinel")
	}
	if o.PasswordFile != "" && o.PasswordEnv != "" {
		add("password_file", "set at most one of password_file and password_env")
	}
	if o.Username != "" && o.PasswordFile == "" && o.PasswordEnv == "" {
		add("password_file", "an ACL username needs a password (password_file or password_env)")
	}
	if o.DB < 0 {
		add("db", "must not be negative, got %d", o.DB)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"dial_timeout", o.DialTimeout}, {"read_timeout", o.ReadTimeout}, {"write_timeout", o.WriteTimeout}} {
		if d.v < 0 {
			add(d.name, "must not be negative, got %s", d.v)
		}
	}
	if o.PoolSize < 0 {
		add("pool_size", "must not be negative, got %d", o.PoolSize)
	}
	t := o.TLS
	if !t.Enabled && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "") {
		add("tls.enabled", "tls.ca_file, cert_file, key_file or server_name are set but tls.enabled is false")
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		add("tls.cert_file", "cert_file and key_file go together")
	}
	for _, f := range []struct{ name, path string }{{"tls.ca_file", t.CAFile}, {"tls.cert_file", t.CertFile}, {"tls.key_file", t.KeyFile},
		{"password_file", o.PasswordFile}, {"sentinel.password_file", o.Sentinel.PasswordFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			add(f.name, "%v", err)
		}
	}
	return errors.Join(errs...)
}

func hostPort(a string) error {
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", a)
	}
	if h == "" || p == "" {
		return fmt.Errorf("want host:port, got %q", a)
	}
	return nil
}

// String describes the options without secrets (for logs).
func (o *Options) String() string {
	if !o.Enabled() {
		return "redis(none)"
	}
	var b strings.Builder
	b.WriteString("redis(")
	b.WriteString(o.Mode())
	switch o.Mode() {
	case "single":
		b.WriteString(" " + o.Address)
	case "cluster":
		b.WriteString(" " + strings.Join(o.Cluster, ","))
	case "sentinel":
		b.WriteString(" " + o.Sentinel.Master + "@" + strings.Join(o.Sentinel.Addresses, ","))
	}
	if o.Username != "" {
		b.WriteString(" user=" + o.Username)
	}
	if o.PasswordFile != "" || o.PasswordEnv != "" {
		b.WriteString(" password=[redacted]")
	}
	if o.TLS.Enabled {
		b.WriteString(" tls")
	}
	b.WriteString(")")
	return b.String()
}

func secret(file, env, field string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("%s: %w", field, err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: environment variable %s is empty or unset", strings.Replace(field, "_file", "_env", 1), env)
		}
		return v, nil
	}
	return "", nil
}

// Universal returns go-redis' options for o, reading secrets and TLS
// files. Errors name the field and never include a secret.
func (o *Options) Universal() (*redis.UniversalOptions, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	c := *o
	c.ApplyDefaults()
	u := &redis.UniversalOptions{
		Username: c.Username, DB: c.DB,
		DialTimeout: c.DialTimeout, ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout,
		PoolSize: c.PoolSize, ContextTimeoutEnabled: true,
	}
	var err error
	if u.Password, err = secret(c.PasswordFile, c.PasswordEnv, "password_file"); err != nil {
		return nil, err
	}
	switch c.Mode() {
	case "single":
		u.Addrs = []string{c.Address}
	case "cluster":
		u.Addrs = c.Cluster
	case "sentinel":
		u.Addrs, u.MasterName, u.SentinelUsername = c.Sentinel.Addresses, c.Sentinel.Master, c.Sentinel.Username
		if u.SentinelPassword, err = secret(c.Sentinel.PasswordFile, c.Sentinel.PasswordEnv, "sentinel.password_file"); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New("address: no Redis configured")
	}
	if c.TLS.Enabled {
		if u.TLSConfig, err = c.TLS.config(); err != nil {
			return nil, err
		}
	}
	return u, nil
}

func (t TLS) config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file: no PEM certificate in %s", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Client builds the client: a ClusterClient for cluster, a failover
// client for Sentinel, a plain client otherwise. It does not dial; the
// first command does.
func (o *Options) Client() (redis.UniversalClient, error) {
	u, err := o.Universal()
	if err != nil {
		return nil, err
	}
	switch o.Mode() {
	case "cluster":
		return redis.NewClusterClient(u.Cluster()), nil
	case "sentinel":
		return redis.NewFailoverClient(u.Failover()), nil
	}
	return redis.NewClient(u.Simple()), nil
}
