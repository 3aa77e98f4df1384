// Package api serves lognats' HTTP API: log ingest, insights, recent
// anomalies, status and health. JSON lives only here, at the edge.
package api

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/ingest"
	"github.com/lognats/lognats/internal/pipeline"
)

// Publisher is what ingest needs: a sink whose writes can be awaited.
type Publisher interface {
	ingest.Sink
	Flush(ctx context.Context) error
	Connected() bool
}

// Server holds the API's dependencies.
type Server struct {
	JS        jetstream.JetStream
	Publisher Publisher
	Stats     *pipeline.Stats // nil: insights and anomalies answer 503
	Logger    *slog.Logger
	// MaxBody bounds one ingest request; default 1 GiB.
	MaxBody int64
}

// Handler returns the routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	mux.HandleFunc("POST /api/v1/logs", s.logs)
	mux.HandleFunc("GET /api/v1/insights", s.insights)
	mux.HandleFunc("GET /api/v1/anomalies", s.anomalies)
	mux.HandleFunc("GET /api/v1/status", s.status)
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.JS.AccountInfo(ctx); err != nil {
		http.Error(w, "jetstream unavailable: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// IngestResponse is the answer to POST /api/v1/logs.
type IngestResponse struct {
	ingest.Stats
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"` // why nothing was accepted (status 400)
}

// logs accepts NDJSON (Content-Type application/x-ndjson or
// application/json, or ?format=ndjson) or plain text lines with the
// stream named by query parameters; it answers once JetStream has stored
// every accepted line.
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("format") {
	case "", "ndjson", "text":
	default:
		writeError(w, http.StatusBadRequest, "unknown format %q: want ndjson or text", q.Get("format"))
		return
	}
	d := ingest.Defaults{Source: q.Get("source"), Cluster: q.Get("cluster"), Namespace: q.Get("namespace"), Workload: q.Get("workload"), Pod: q.Get("pod"), Container: q.Get("container")}
	if d.Cluster == "" {
		d.Cluster = "local" // as `lognats ingest` does
	}
	ct := r.Header.Get("Content-Type")
	ndjson := q.Get("format") == "ndjson" || strings.Contains(ct, "ndjson") || strings.Contains(ct, "application/json")
	norm := ingest.Defaults.Normalize // records may name their own workload
	if !ndjson {
		norm = ingest.Defaults.RequireWorkload
	}
	d, err := norm(d)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	// Refuse at once while NATS is unreachable: holding the request would
	// make clients time out and retry, storing the lines twice.
	if !s.Publisher.Connected() {
		writeError(w, http.StatusServiceUnavailable, "NATS is not connected; retry later")
		return
	}
	maxBody := s.MaxBody
	if maxBody == 0 {
		maxBody = 1 << 30
	}
	body := http.MaxBytesReader(w, r.Body, maxBody)
	start := time.Now()
	var st ingest.Stats
	if ndjson {
		st, err = ingest.ReadNDJSON(r.Context(), body, d, s.Publisher, ingest.Options{})
	} else {
		st, err = ingest.ReadPlain(r.Context(), body, d, s.Publisher, ingest.Options{})
	}
	fctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	if ferr := s.Publisher.Flush(fctx); err == nil {
		err = ferr
	}
	if err != nil {
		code := http.StatusServiceUnavailable
		if strings.Contains(err.Error(), "request body too large") {
			code = http.StatusRequestEntityTooLarge
		}
		writeJSON(w, code, map[string]any{"error": err.Error(), "stats": st})
		return
	}
	resp := IngestResponse{Stats: st, Seconds: time.Since(start).Seconds()}
	code := http.StatusOK
	if st.Accepted == 0 {
		code = http.StatusBadRequest
		resp.Error = "no usable line in the request"
		if st.Rejected > 0 {
			resp.Error = fmt.Sprintf("every line was rejected (%d)", st.Rejected)
		}
	}
	writeJSON(w, code, resp)
}

func parseFilter(q map[string][]string) (pipeline.InsightFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := pipeline.InsightFilter{Source: get("source"), Cluster: get("cluster"), Namespace: get("namespace"), Workload: get("workload")}
	if ns, name, ok := strings.Cut(f.Workload, "/"); ok && f.Namespace == "" {
		f.Namespace, f.Workload = ns, name
	}
	parseTime := func(k string) (time.Time, error) {
		v := get(k)
		if v == "" {
			return time.Time{}, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.Unix(n, 0), nil
		}
		d, derr := time.ParseDuration(v)
		if derr == nil && d < 0 {
			return time.Now().Add(d), nil
		}
		if derr != nil && strings.HasPrefix(v, "-") && strings.Trim(v[1:], "0123456789.hmsuµn") == "" {
			return time.Time{}, fmt.Errorf("invalid %s=%q: duration out of range (at most about 2,500,000h)", k, v)
		}
		return time.Time{}, fmt.Errorf("invalid %s=%q: want RFC 3339, unix seconds or a negative duration like -1h", k, v)
	}
	var err error
	if f.From, err = parseTime("from"); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to"); err != nil {
		return f, err
	}
	if v := get("step"); v != "" {
		if f.Step, err = time.ParseDuration(v); err != nil || f.Step < time.Minute || f.Step%time.Minute != 0 {
			return f, fmt.Errorf("invalid step=%q: want whole minutes, like 1m or 1h (insights are kept per minute)", v)
		}
	}
	return f, nil
}

// statsFilter checks that stats run here and parses the query's filter;
// it answers the request itself when either fails.
func (s *Server) statsFilter(w http.ResponseWriter, r *http.Request) (pipeline.InsightFilter, bool) {
	if s.Stats == nil {
		writeError(w, http.StatusServiceUnavailable, "the stats service does not run in this process")
		return pipeline.InsightFilter{}, false
	}
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return f, false
	}
	return f, true
}

func (s *Server) insights(w http.ResponseWriter, r *http.Request) {
	f, ok := s.statsFilter(w, r)
	if !ok {
		return
	}
	pts := s.Stats.Insights(f)
	var tot pipeline.Counts
	for _, p := range pts {
		tot.Normal += p.Normal
		tot.Anomaly += p.Anomaly
	}
	writeJSON(w, http.StatusOK, map[string]any{"points": pts, "total": tot})
}

func (s *Server) anomalies(w http.ResponseWriter, r *http.Request) {
	f, ok := s.statsFilter(w, r)
	if !ok {
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		var err error
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 10000 {
			writeError(w, http.StatusBadRequest, "invalid limit=%q: want 1..10000", v)
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"anomalies": s.Stats.Recent(f, limit)})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	rep, err := pipeline.Report(r.Context(), s.JS)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
