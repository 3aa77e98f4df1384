package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/lognats/lognats/internal/datadir"
	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natsx"
)

// app holds the global flags every command shares.
type app struct {
	dataDir    string
	natsURL    string
	client     natsx.ClientConfig
	natsListen string
	natsSync   string
	json       bool
	logLevel   string
	store      modelstore.Config

	sync      natsx.SyncPolicy
	listenSet bool // --nats-listen given explicitly
	logger    *slog.Logger
}

func (a *app) bindGlobalFlags(root *cobra.Command) {
	f := root.PersistentFlags()
	f.StringVar(&a.dataDir, "data", "./lognats-data", "data folder (embedded NATS store, lock, discovery file)")
	f.StringVar(&a.natsURL, "nats", "", "external NATS URL(s), comma-separated; default: the lognats serve that owns --data, else an embedded server")
	f.StringVar(&a.client.User, "nats-user", "", "NATS user")
	f.StringVar(&a.client.Password, "nats-password", "", "NATS password")
	f.StringVar(&a.client.Token, "nats-token", "", "NATS token")
	f.StringVar(&a.client.CredsFile, "nats-creds", "", "NATS credentials file")
	f.StringVar(&a.client.NKeyFile, "nats-nkey", "", "NATS nkey seed file")
	f.StringVar(&a.client.TLSCert, "tls-cert", "", "client TLS certificate")
	f.StringVar(&a.client.TLSKey, "tls-key", "", "client TLS key")
	f.StringVar(&a.client.TLSCA, "tls-ca", "", "CA certificate to verify the NATS server")
	f.StringVar(&a.natsListen, "nats-listen", "127.0.0.1:4222", "listen address of the embedded NATS server started by serve")
	f.StringVar(&a.natsSync, "nats-sync", natsx.DefaultSyncInterval.String(), "embedded JetStream fsync policy: always, or an interval such as 1s")
	f.BoolVar(&a.json, "json", false, "machine-readable JSON output")
	f.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.StringVar(&a.store.ModelBucket, "model-bucket", modelstore.DefaultModelBucket, "object store bucket for deep-learning models")
	f.StringVar(&a.store.DrainBucket, "drain-bucket", modelstore.DefaultDrainBucket, "object store bucket for DRAIN models")
	f.StringVar(&a.store.PointerBucket, "pointer-bucket", modelstore.DefaultPointerBucket, "KV bucket for current-version pointers")
	f.IntVar(&a.store.Replicas, "replicas", 1, "stream replicas for buckets lognats creates (3 on a cluster)")
	f.IntVar(&a.store.Keep, "keep", modelstore.DefaultKeep, "versions kept per model (the current one is always kept); -1 keeps all")
}

func (a *app) setup(cmd *cobra.Command) error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", a.logLevel)
	}
	a.logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: lvl}))
	a.client.Logger = a.logger
	a.store.Logger = a.logger
	p, err := natsx.ParseSyncPolicy(a.natsSync)
	if err != nil {
		return err
	}
	a.sync = p
	a.listenSet = cmd.Flags().Changed("nats-listen")
	if a.store.Keep == 0 || a.store.Keep < -1 {
		return fmt.Errorf("invalid --keep %d: keep at least 1 version, or -1 for all", a.store.Keep)
	}
	if a.store.Replicas < 1 || a.store.Replicas > 5 {
		return fmt.Errorf("invalid --replicas %d: want 1 to 5", a.store.Replicas)
	}
	return nil
}

// conn is a NATS connection plus whatever the command had to start for it.
type conn struct {
	nc   *nats.Conn
	emb  *natsx.Embedded
	lock *datadir.Lock
	url  string
}

func (c *conn) Close() {
	if c.nc != nil {
		_ = c.nc.Drain()
		for i := 0; i < 100 && !c.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		c.nc.Close()
	}
	if c.emb != nil {
		c.emb.Shutdown()
	}
	if c.lock != nil {
		_ = c.lock.Release()
	}
}

// lockWait is how long a one-off command waits for another one-off command
// that holds the data folder.
const lockWait = 60 * time.Second

// createsData reports whether a command of this role may create a missing
// data folder; the others only read what is there, and a mistyped --data
// should say so instead of showing an empty store.
func createsData(role string) bool {
	switch role {
	case "serve", "run", "demo", "ingest", "pretrain", "parse", "models put":
		return true
	}
	return false
}

// connect reaches NATS: --nats if given; else the serve that owns --data;
// else an embedded server on --data for the life of this command.
func (a *app) connect(ctx context.Context, role string) (*conn, error) {
	name := "lognats-" + role
	// Services reconnect forever; a one-off command gives up after about a
	// minute rather than hang on a server that went away.
	a.client.MaxReconnects = 0
	if role != "serve" && role != "run" && role != "demo" {
		a.client.MaxReconnects = 15
	}
	if a.natsURL != "" {
		cc := a.client
		cc.URLs, cc.Name = a.natsURL, name
		nc, err := natsx.Connect(ctx, cc)
		if err != nil {
			return nil, err
		}
		return &conn{nc: nc, url: nc.ConnectedUrl()}, nil
	}
	if a.dataDir == "" {
		return nil, errors.New("--data must name a folder")
	}
	if !createsData(role) {
		if _, err := os.Stat(a.dataDir); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("data folder %s does not exist: check --data, or start `lognats serve --data %s` (or pass --nats)", a.dataDir, a.dataDir)
		}
		if !datadir.Looks(a.dataDir) {
			return nil, fmt.Errorf("%s is not a lognats data folder (it has no lognats.lock or nats/): check --data", a.dataDir)
		}
	}
	lock, err := datadir.Acquire(a.dataDir)
	var le *datadir.LockedError
	waitUntil, told := time.Now().Add(lockWait), false
	for errors.As(err, &le) {
		longLived := le.Owner != nil && (le.Owner.Role == "serve" || le.Owner.Role == "run")
		if role == "serve" && longLived {
			break // two servers never share a folder; a one-off command is waited for
		}
		if role != "serve" && longLived && le.Owner.NATSURL != "" {
			cc := a.client
			cc.URLs, cc.Name, cc.ConnectWait = le.Owner.NATSURL, name, 3*time.Second
			nc, cerr := natsx.Connect(ctx, cc)
			if cerr != nil {
				return nil, fmt.Errorf("data folder %s belongs to %s (pid %d), but its NATS at %s does not answer: %w",
					le.Dir, le.Owner.Role, le.Owner.PID, le.Owner.NATSURL, cerr)
			}
			return &conn{nc: nc, url: le.Owner.NATSURL}, nil
		}
		// Another one-off command has the folder (or is still starting):
		// wait for it rather than use a server that goes away with it.
		if time.Now().After(waitUntil) {
			break
		}
		if !told && time.Until(waitUntil) < lockWait-time.Second {
			who := "another lognats command"
			if le.Owner != nil {
				who = fmt.Sprintf("lognats %s (pid %d)", le.Owner.Role, le.Owner.PID)
			}
			fmt.Fprintf(os.Stderr, "waiting for %s to release data folder %s (run `lognats serve` to share it)...\n", who, le.Dir)
			told = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		lock, err = datadir.Acquire(a.dataDir)
	}
	if err != nil {
		return nil, err
	}
	listen := "127.0.0.1:0" // a short-lived command must not take the port serve will want
	if role == "serve" || a.listenSet {
		listen = a.natsListen
	}
	emb, err := natsx.StartEmbedded(ctx, natsx.EmbeddedConfig{DataDir: lock.Dir(), Listen: listen, Sync: a.sync, Logger: a.logger})
	if err != nil {
		_ = lock.Release()
		return nil, err
	}
	c := &conn{emb: emb, lock: lock, url: emb.ClientURL()}
	cc := natsx.ClientConfig{URLs: emb.ClientURL(), Name: name, Logger: a.logger, Extra: []nats.Option{emb.InProcess()}}
	if c.nc, err = natsx.Connect(ctx, cc); err != nil {
		c.Close()
		return nil, err
	}
	if err := lock.Publish(datadir.ServeInfo{PID: os.Getpid(), Role: role, NATSURL: emb.ClientURL(), Started: time.Now().UTC()}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// openStore connects and opens the model store.
func (a *app) openStore(ctx context.Context, role string) (*modelstore.Store, *conn, error) {
	if err := a.store.Validate(); err != nil {
		return nil, nil, err // before starting or reaching a server for nothing
	}
	c, err := a.connect(ctx, role)
	if err != nil {
		return nil, nil, err
	}
	s, err := modelstore.Open(ctx, c.nc, a.store)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	return s, c, nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// parseMeta turns repeated K=V flags into a map.
func parseMeta(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid --meta %q: want KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

func jetstreamFor(c *conn) (jetstream.JetStream, error) {
	js, err := jetstream.New(c.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream context: %w", err)
	}
	return js, nil
}
