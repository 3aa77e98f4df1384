// Package natsx gives lognats its NATS: an embedded nats-server with
// JetStream on file storage under the data folder, or a client connection to
// an external cluster, with the reconnect and auth options both need.
package natsx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// DefaultSyncInterval is how often the embedded file store fsyncs when
// --nats-sync is not given. Chosen by measurement (docs/benchmarks.md): at
// 1s puts run at full speed and a power loss costs at most the last second.
const DefaultSyncInterval = time.Second

// SyncPolicy says when the embedded JetStream file store calls fsync.
type SyncPolicy struct {
	Always   bool
	Interval time.Duration
}

// ParseSyncPolicy reads --nats-sync: "always" or a Go duration such as "1s".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	if s == "" {
		return SyncPolicy{Interval: DefaultSyncInterval}, nil
	}
	if s == "always" {
		return SyncPolicy{Always: true}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return SyncPolicy{}, fmt.Errorf("invalid --nats-sync %q: want \"always\" or a positive duration like 1s", s)
	}
	return SyncPolicy{Interval: d}, nil
}

func (p SyncPolicy) String() string {
	if p.Always {
		return "always"
	}
	return p.Interval.String()
}

// EmbeddedConfig configures the in-process server.
type EmbeddedConfig struct {
	// DataDir is the lognats data folder; JetStream keeps its files in DataDir/nats.
	DataDir string
	// Listen is host:port for clients; port 0 picks a free one. Default 127.0.0.1:4222.
	Listen string
	Sync   SyncPolicy
	// MaxPayload raises the server's message size limit so model chunks can be big.
	MaxPayload int32
	Logger     *slog.Logger
}

// Embedded is a running in-process nats-server.
type Embedded struct {
	srv    *server.Server
	logger *slog.Logger
}

// StartEmbedded starts a JetStream server and waits until it takes clients.
func StartEmbedded(ctx context.Context, cfg EmbeddedConfig) (*Embedded, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:4222"
	}
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("invalid --nats-listen %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("invalid --nats-listen port %q", portStr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else {
		// The server would retry a taken port for its whole startup
		// timeout; checking first gives an immediate, clear error.
		l, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats-server cannot listen on --nats-listen %s: %w", cfg.Listen, err)
		}
		l.Close()
	}
	if cfg.MaxPayload == 0 {
		cfg.MaxPayload = 8 << 20
	}
	opts := &server.Options{
		ServerName:            "lognats",
		Host:                  host,
		Port:                  port,
		JetStream:             true,
		StoreDir:              filepath.Join(cfg.DataDir, "nats"),
		SyncAlways:            cfg.Sync.Always,
		SyncInterval:          cfg.Sync.Interval,
		MaxPayload:            cfg.MaxPayload,
		MaxPending:            64 << 20,
		NoSigs:                true,
		NoLog:                 true,
		DisableShortFirstPing: true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("configure embedded nats-server: %w", err)
	}
	go srv.Start()
	wait := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats-server on %s did not become ready within %s (is the port in use?)", cfg.Listen, wait)
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		return nil, errors.New("embedded nats-server started without JetStream")
	}
	cfg.Logger.Info("embedded nats-server ready", "url", srv.ClientURL(), "store", opts.StoreDir, "sync", cfg.Sync.String())
	return &Embedded{srv: srv, logger: cfg.Logger}, nil
}

// InProcess is a client option that connects to this server without a
// socket: same-process clients skip the kernel on every message.
func (e *Embedded) InProcess() nats.Option { return nats.InProcessServer(e.srv) }

// ClientURL is the URL other processes use to reach this server.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server; JetStream flushes its file store on the way out.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	e.logger.Info("embedded nats-server stopped")
}

// ClientConfig says how to reach a server and who we are to it.
type ClientConfig struct {
	URLs        string // comma-separated
	Name        string
	User        string
	Password    string
	Token       string
	CredsFile   string
	NKeyFile    string // nkey seed file
	TLSCert     string
	TLSKey      string
	TLSCA       string
	ConnectWait time.Duration // how long the first connect may take; default 5s
	// MaxReconnects bounds reconnect attempts after a lost connection; 0
	// means forever (services). Short-lived commands set a bound so they
	// fail instead of waiting for a server that is gone for good.
	MaxReconnects int
	// Extra options, e.g. Embedded.InProcess for a same-process server.
	Extra  []nats.Option
	Logger *slog.Logger
}

// Connect dials the server(s). The first connect fails fast with a clear
// error; once connected the client reconnects forever with capped backoff,
// because a long-running service must outlive any server restart.
func Connect(ctx context.Context, cfg ClientConfig) (*nats.Conn, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if strings.TrimSpace(cfg.URLs) == "" {
		return nil, errors.New("no NATS URL given")
	}
	if cfg.ConnectWait == 0 {
		cfg.ConnectWait = 5 * time.Second
	}
	logger := cfg.Logger
	opts := []nats.Option{
		nats.Name(cfg.Name),
		nats.Timeout(cfg.ConnectWait),
		nats.MaxReconnects(maxReconnects(cfg.MaxReconnects)),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			d := time.Duration(1<<min(attempts, 6)) * 100 * time.Millisecond // 200ms .. 6.4s
			return d + time.Duration(rand.Int64N(int64(d/4)+1))
		}),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("nats disconnected; reconnecting (Ctrl-C to give up)", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { logger.Info("nats reconnected", "url", nc.ConnectedUrl()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			logger.Warn("nats async error", "subject", subj, "err", err)
		}),
	}
	opts = append(opts, cfg.Extra...)
	if cfg.User != "" || cfg.Password != "" {
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
	}
	if cfg.Token != "" {
		opts = append(opts, nats.Token(cfg.Token))
	}
	if cfg.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	}
	if cfg.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("load nkey seed %s: %w", cfg.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if cfg.TLSCert != "" || cfg.TLSKey != "" {
		opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
	}
	if cfg.TLSCA != "" {
		opts = append(opts, nats.RootCAs(cfg.TLSCA))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(cfg.URLs, opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("connect to NATS at %s: %w", redact(cfg.URLs), r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("connect to NATS at %s: %w", redact(cfg.URLs), ctx.Err())
	}
}

// redact hides passwords embedded in URLs before they reach logs or errors.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, p := range parts {
		if at := strings.LastIndex(p, "@"); at >= 0 {
			if s := strings.Index(p, "://"); s >= 0 && s < at {
				parts[i] = p[:s+3] + "***@" + p[at+1:]
			}
		}
	}
	return strings.Join(parts, ",")
}

func maxReconnects(n int) int {
	if n > 0 {
		return n
	}
	return -1 // forever
}
