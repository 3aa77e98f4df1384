package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/logrec"
)

// statsObject is the object in the StateObjects bucket holding the stats snapshot.
const statsObject = "stats"

// statsVersion is the version of the stats snapshot format.
const statsVersion = 1

// InsightKey identifies one per-minute insight counter.
type InsightKey struct {
	Minute    int64  `json:"minute"` // unix seconds, truncated to the minute
	Source    string `json:"source"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
}

// Counts are Normal and Anomaly line counts.
type Counts struct {
	Normal  int64 `json:"normal"`
	Anomaly int64 `json:"anomaly"`
}

// AnomalyLine is one recent anomalous line.
type AnomalyLine struct {
	Time       time.Time `json:"time"`
	Source     string    `json:"source"`
	Cluster    string    `json:"cluster"`
	Namespace  string    `json:"namespace"`
	Workload   string    `json:"workload"`
	Pod        string    `json:"pod,omitempty"`
	TemplateID uint64    `json:"template_id"`
	Masked     string    `json:"masked"`
	Message    string    `json:"message"`
	Score      float32   `json:"score"`
	DecidedBy  string    `json:"decided_by"`
}

// statsState is everything the stats service knows; it is snapshotted
// whole, with the stream sequences it covers, so a restart resumes exactly.
type statsState struct {
	Version    int            `json:"version"`
	LogsSeq    uint64         `json:"logs_seq"`
	ResultsSeq uint64         `json:"results_seq"`
	Ingested   int64          `json:"ingested"`
	Processed  int64          `json:"processed"`
	Anomalies  int64          `json:"anomalies"`
	Insights   []insightEntry `json:"insights"`
	Recent     []AnomalyLine  `json:"recent"`
	Top        []TopTemplate  `json:"top"`
	insights   map[InsightKey]*Counts
	top        map[topKey]*TopTemplate
}

// TopTemplate counts anomalous lines of one template in one workload.
type TopTemplate struct {
	Source     string `json:"source"`
	Namespace  string `json:"namespace"`
	Workload   string `json:"workload"`
	TemplateID uint64 `json:"template_id,omitempty"`
	Template   string `json:"template"` // the masked line that first represented it
	Count      int64  `json:"count"`
	Example    string `json:"example"`
}

type topKey struct {
	source, ns, wl string
	id             uint64 // template id, or 0 with masked set
	masked         string
}

// topMax bounds the anomalous-template counters.
const topMax = 20_000

type insightEntry struct {
	InsightKey
	Counts
}

// Status is what `lognats status` reads from the state bucket.
type Status struct {
	Ingested   int64     `json:"ingested"`
	Processed  int64     `json:"processed"`
	Anomalies  int64     `json:"anomalies"`
	LogsSeq    uint64    `json:"logs_seq"`
	ResultsSeq uint64    `json:"results_seq"`
	Updated    time.Time `json:"updated"`
}

// Stats counts ingested and processed lines and keeps per-minute insights
// and recent anomalies. It is a singleton reading LOGS and RESULTS with
// ordered consumers from the sequences of its last snapshot.
type Stats struct {
	NC            *nats.Conn
	SnapshotEvery time.Duration // default 2s
	MaxBuckets    int           // insight counters kept (minute x stream); default 200,000
	RecentMax     int           // recent anomalies kept; default 1000
	Logger        *slog.Logger

	mu    sync.Mutex
	zbuf  []byte // guarded by mu
	st    statsState
	ready chan struct{}
}

// Run follows both streams until ctx ends.
func (s *Stats) Run(ctx context.Context) error {
	if s.SnapshotEvery == 0 {
		s.SnapshotEvery = 2 * time.Second
	}
	if s.MaxBuckets == 0 {
		s.MaxBuckets = 200_000
	}
	if s.RecentMax == 0 {
		s.RecentMax = 1000
	}
	js, err := jetstream.New(s.NC)
	if err != nil {
		return err
	}
	obs, err := js.ObjectStore(ctx, StateObjects)
	if err != nil {
		return fmt.Errorf("stats: open %s: %w", StateObjects, err)
	}
	kv, err := js.KeyValue(ctx, StateBucket)
	if err != nil {
		return fmt.Errorf("stats: open %s: %w", StateBucket, err)
	}
	if err := s.load(ctx, obs); err != nil {
		return err
	}
	s.mu.Lock()
	logsSeq, resultsSeq := s.st.LogsSeq, s.st.ResultsSeq
	s.mu.Unlock()
	ordered := func(stream, filter string, from uint64) (jetstream.Consumer, error) {
		// LOGS is only counted, from the batch header, so its payloads stay on the server.
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverAllPolicy, HeadersOnly: stream == LogsStream}
		if from > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from+1
		}
		return js.OrderedConsumer(ctx, stream, cfg)
	}
	lc, err := ordered(LogsStream, LogsPrefix+".>", logsSeq)
	if err != nil {
		return fmt.Errorf("stats: follow %s: %w", LogsStream, err)
	}
	rc, err := ordered(ResultsStream, ResultsPrefix+".>", resultsSeq)
	if err != nil {
		return fmt.Errorf("stats: follow %s: %w", ResultsStream, err)
	}
	// Small pulls: batches are big, and an unbounded pull would flood the
	// connection's buffers.
	pull := []jetstream.PullConsumeOpt{jetstream.PullMaxMessages(16)}
	logsStream, err := js.Stream(ctx, LogsStream)
	if err != nil {
		return fmt.Errorf("stats: %w", err)
	}
	lcc, err := lc.Consume(func(m jetstream.Msg) { s.onLogs(ctx, logsStream, m) }, pull...)
	if err != nil {
		return fmt.Errorf("stats: consume %s: %w", LogsStream, err)
	}
	defer lcc.Stop()
	rcc, err := rc.Consume(func(m jetstream.Msg) { s.onResults(m) }, pull...)
	if err != nil {
		return fmt.Errorf("stats: consume %s: %w", ResultsStream, err)
	}
	defer rcc.Stop()
	t := time.NewTicker(s.SnapshotEvery)
	defer t.Stop()
	var last []byte
	for {
		select {
		case <-ctx.Done():
			lcc.Stop()
			rcc.Stop()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_, err := s.snapshot(sctx, obs, kv, nil)
			return err
		case <-t.C:
			b, err := s.snapshot(ctx, obs, kv, last)
			if err != nil && ctx.Err() == nil {
				s.Logger.Warn("stats snapshot", "err", err)
			}
			last = b
		}
	}
}

func (s *Stats) load(ctx context.Context, obs jetstream.ObjectStore) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st = statsState{Version: statsVersion, insights: map[InsightKey]*Counts{}, top: map[topKey]*TopTemplate{}}
	b, err := obs.GetBytes(ctx, statsObject)
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		// Counting again from the start is slower but exact; losing the
		// snapshot must not stop the service.
		s.Logger.Error("stats snapshot unreadable; recounting from the start of the streams", "err", err)
		return nil
	}
	var st statsState
	if err := json.Unmarshal(b, &st); err != nil || st.Version != statsVersion {
		s.Logger.Error("stats snapshot invalid; recounting from the start of the streams", "err", err, "version", st.Version)
		return nil
	}
	st.insights = make(map[InsightKey]*Counts, len(st.Insights))
	for _, e := range st.Insights {
		c := e.Counts
		st.insights[e.InsightKey] = &c
	}
	st.Insights = nil
	st.top = make(map[topKey]*TopTemplate, len(st.Top))
	for i := range st.Top {
		t := st.Top[i]
		st.top[topKeyOf(t.Source, t.Namespace, t.Workload, t.TemplateID, t.Template)] = &t
	}
	st.Top = nil
	s.st = st
	return nil
}

func (s *Stats) onLogs(ctx context.Context, logs jetstream.Stream, m jetstream.Msg) {
	seq := msgSeq(m)
	n, err := strconv.ParseInt(m.Headers().Get(HeaderLines), 10, 64)
	if err != nil {
		// Published without the count header: fetch the body and count.
		var recs []logrec.Record
		raw, gerr := logs.GetMsg(ctx, seq)
		if gerr == nil {
			var body []byte
			if body, gerr = Payload(raw.Header, raw.Data, nil); gerr == nil {
				_, recs, gerr = logrec.DecodeLogs(body, nil)
			}
		}
		if gerr != nil {
			s.Logger.Warn("uncountable LOGS batch", "seq", seq, "err", gerr)
		}
		n = int64(len(recs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.st.LogsSeq {
		return
	}
	s.st.Ingested += n
	s.st.LogsSeq = seq
}

func (s *Stats) onResults(m jetstream.Msg) {
	seq := msgSeq(m)
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.st.ResultsSeq {
		return
	}
	s.st.ResultsSeq = seq
	var key InsightKey
	var cur *Counts
	now := time.Now().Unix()
	data, err := Payload(m.Headers(), m.Data(), s.zbuf)
	if err != nil {
		s.Logger.Warn("undecodable RESULTS batch", "seq", seq, "err", err)
		return
	}
	if m.Headers().Get(HeaderEncoding) != "" {
		s.zbuf = data[:0]
	}
	err = logrec.WalkResults(data, func(st *logrec.Stream, r *logrec.ResultView) {
		s.st.Processed++
		t := now
		if r.Time != 0 {
			t = r.Time / 1e9
		}
		k := InsightKey{Minute: t / 60 * 60, Source: st.Source, Cluster: st.Cluster, Namespace: st.Namespace, Workload: st.Workload}
		if cur == nil || k != key {
			key, cur = k, s.st.insights[k]
			if cur == nil {
				cur = &Counts{}
				s.st.insights[k] = cur
			}
		}
		if r.Level != logrec.Anomaly {
			cur.Normal++
			return
		}
		cur.Anomaly++
		s.st.Anomalies++
		masked := string(r.Masked)
		tk := topKeyOf(st.Source, st.Namespace, st.Workload, r.TemplateID, masked)
		if t := s.st.top[tk]; t != nil {
			t.Count++
		} else if len(s.st.top) < topMax {
			s.st.top[tk] = &TopTemplate{Source: st.Source, Namespace: st.Namespace, Workload: st.Workload, TemplateID: r.TemplateID, Template: masked, Count: 1, Example: string(r.Message)}
		}
		a := AnomalyLine{Source: st.Source, Cluster: st.Cluster, Namespace: st.Namespace, Workload: st.Workload,
			Pod: string(r.Pod), TemplateID: r.TemplateID, Masked: masked, Message: string(r.Message), Score: r.Score, DecidedBy: string(r.DecidedBy)}
		if r.Time != 0 {
			a.Time = time.Unix(0, r.Time).UTC()
		}
		s.st.Recent = append(s.st.Recent, a)
	})
	if err != nil {
		// Lines counted before the damage stay counted; the rest of this
		// batch cannot be read by anyone, so it is reported, not retried.
		s.Logger.Warn("undecodable RESULTS batch", "seq", seq, "err", err)
	}
	if over := len(s.st.Recent) - s.RecentMax; over > 0 {
		s.st.Recent = append(s.st.Recent[:0], s.st.Recent[over:]...)
	}
}

// snapshot stores the state if it changed since last.
func (s *Stats) snapshot(ctx context.Context, obs jetstream.ObjectStore, kv jetstream.KeyValue, last []byte) ([]byte, error) {
	s.mu.Lock()
	// Insights are bounded by count, oldest minutes first, rather than by
	// age: replayed old files keep their insights.
	cutoff := int64(-1 << 62)
	if over := len(s.st.insights) - s.MaxBuckets; over > 0 {
		minutes := make([]int64, 0, len(s.st.insights))
		for k := range s.st.insights {
			minutes = append(minutes, k.Minute)
		}
		sort.Slice(minutes, func(i, j int) bool { return minutes[i] < minutes[j] })
		cutoff = minutes[over]
	}
	st := s.st
	st.Insights = make([]insightEntry, 0, len(s.st.insights))
	for k, c := range s.st.insights {
		if k.Minute < cutoff {
			delete(s.st.insights, k)
			continue
		}
		st.Insights = append(st.Insights, insightEntry{k, *c})
	}
	st.Recent = append([]AnomalyLine(nil), s.st.Recent...)
	st.Top = make([]TopTemplate, 0, len(s.st.top))
	for _, t := range s.st.top {
		st.Top = append(st.Top, *t)
	}
	status := Status{Ingested: st.Ingested, Processed: st.Processed, Anomalies: st.Anomalies, LogsSeq: st.LogsSeq, ResultsSeq: st.ResultsSeq, Updated: time.Now().UTC()}
	s.mu.Unlock()
	sort.Slice(st.Insights, func(i, j int) bool { return st.Insights[i].Minute < st.Insights[j].Minute })
	b, err := json.Marshal(st)
	if err != nil {
		return last, err
	}
	if !bytes.Equal(b, last) {
		if _, err := obs.PutBytes(ctx, statsObject, b); err != nil {
			return last, fmt.Errorf("store stats snapshot: %w", err)
		}
	}
	if bytes.Equal(b, last) {
		return b, nil // nothing new: an idle server writes nothing
	}
	sb, _ := json.Marshal(status)
	if _, err := kv.Put(ctx, "status", sb); err != nil {
		return b, fmt.Errorf("store status: %w", err)
	}
	return b, nil
}

// Status returns the live counters.
func (s *Stats) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{Ingested: s.st.Ingested, Processed: s.st.Processed, Anomalies: s.st.Anomalies, LogsSeq: s.st.LogsSeq, ResultsSeq: s.st.ResultsSeq, Updated: time.Now().UTC()}
}

// InsightFilter selects insight counters; empty fields match everything.
type InsightFilter struct {
	Source, Cluster, Namespace, Workload string
	From, To                             time.Time
	Step                                 time.Duration
}

// InsightPoint is one time bucket of a query.
type InsightPoint struct {
	Time time.Time `json:"time"`
	Counts
}

// Insights sums counters into buckets of f.Step (a multiple of a minute).
func (s *Stats) Insights(f InsightFilter) []InsightPoint {
	step := int64(f.Step / time.Second)
	if step < 60 {
		step = 60
	}
	step = step / 60 * 60
	from, to := int64(0), int64(1<<62)
	if !f.From.IsZero() {
		from = f.From.Unix()
	}
	if !f.To.IsZero() {
		to = f.To.Unix()
	}
	buckets := map[int64]*Counts{}
	s.mu.Lock()
	for k, c := range s.st.insights {
		if k.Minute < from || k.Minute >= to ||
			(f.Source != "" && k.Source != f.Source) || (f.Cluster != "" && k.Cluster != f.Cluster) ||
			(f.Namespace != "" && k.Namespace != f.Namespace) || (f.Workload != "" && k.Workload != f.Workload) {
			continue
		}
		b := k.Minute / step * step
		if buckets[b] == nil {
			buckets[b] = &Counts{}
		}
		buckets[b].Normal += c.Normal
		buckets[b].Anomaly += c.Anomaly
	}
	s.mu.Unlock()
	out := make([]InsightPoint, 0, len(buckets))
	for t, c := range buckets {
		out = append(out, InsightPoint{Time: time.Unix(t, 0).UTC(), Counts: *c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// Recent returns up to limit recent anomalies, newest first, matching f.
func (s *Stats) Recent(f InsightFilter, limit int) []AnomalyLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []AnomalyLine{}
	for i := len(s.st.Recent) - 1; i >= 0 && len(out) < limit; i-- {
		a := s.st.Recent[i]
		if (f.Source != "" && a.Source != f.Source) || (f.Cluster != "" && a.Cluster != f.Cluster) ||
			(f.Namespace != "" && a.Namespace != f.Namespace) || (f.Workload != "" && a.Workload != f.Workload) {
			continue
		}
		out = append(out, a)
	}
	return out
}

// ReadStatus reads the last status the stats service stored.
func ReadStatus(ctx context.Context, js jetstream.JetStream) (Status, error) {
	kv, err := js.KeyValue(ctx, StateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return Status{}, nil // nothing has run here yet
	}
	if err != nil {
		return Status{}, fmt.Errorf("open %s: %w", StateBucket, err)
	}
	var st Status
	e, err := kv.Get(ctx, "status")
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read status: %w", err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return st, fmt.Errorf("parse status: %w", err)
	}
	return st, nil
}

// Templates sums the template counts services reported.
func Templates(ctx context.Context, js jetstream.JetStream) (map[string]int64, error) {
	out := map[string]int64{}
	kv, err := js.KeyValue(ctx, StateBucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", StateBucket, err)
	}
	keys, err := kv.ListKeysFiltered(ctx, "templates.>")
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list template counts: %w", err)
	}
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		n, _ := strconv.ParseInt(string(e.Value()), 10, 64)
		out[k[len("templates."):]] = n
	}
	return out, nil
}

// Lag is how far a durable consumer is behind.
type Lag struct {
	Service string `json:"service"`
	Pending uint64 `json:"pending"`     // messages not yet delivered
	Unacked int    `json:"ack_pending"` // delivered, not yet acknowledged
	Online  bool   `json:"online"`
}

// Lags reports every lognats durable consumer.
func Lags(ctx context.Context, js jetstream.JetStream) []Lag {
	var out []Lag
	add := func(stream, name string) {
		c, err := js.Consumer(ctx, stream, name)
		if err != nil {
			return
		}
		info, err := c.Info(ctx)
		if err != nil {
			return
		}
		// A busy service has no pull waiting while it works through what
		// it fetched; recent deliveries count as running too.
		recent := info.Delivered.Last != nil && time.Since(*info.Delivered.Last) < 30*time.Second
		out = append(out, Lag{Service: name, Pending: info.NumPending, Unacked: info.NumAckPending, Online: info.NumWaiting > 0 || info.PushBound || recent})
	}
	add(LogsStream, ConsumerWorkload)
	for _, src := range PretrainedSources() {
		add(LogsStream, ConsumerPretrained(src))
	}
	add(ParsedStream, ConsumerInference)
	return out
}

// StatusReport is what `lognats status` prints.
type StatusReport struct {
	Status
	Templates    int64            `json:"templates"`
	TemplatesBy  map[string]int64 `json:"templates_by_model"`
	Lag          []Lag            `json:"lag"`
	StatsLagLogs uint64           `json:"stats_lag_logs"`    // LOGS messages the stats service has not counted
	StatsLagRes  uint64           `json:"stats_lag_results"` // RESULTS messages not yet counted
	// Leases: singleton service -> the process holding it (see lease.go).
	Leases map[string]string `json:"leases,omitempty"`
	// Warnings name parts of the report that could not be read.
	Warnings []string `json:"warnings,omitempty"`
}

// Report gathers the status of every service from NATS.
func Report(ctx context.Context, js jetstream.JetStream) (StatusReport, error) {
	st, err := ReadStatus(ctx, js)
	if err != nil {
		return StatusReport{}, err
	}
	rep := StatusReport{Status: st}
	// The template counts are a KV listing, which can stall while a
	// cluster elects a leader: report without them rather than fail.
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	rep.TemplatesBy, err = Templates(tctx, js)
	cancel()
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("template counts unavailable: %v", err))
	}
	for _, n := range rep.TemplatesBy {
		rep.Templates += n
	}
	rep.Lag = Lags(ctx, js)
	rep.Leases = leaseHolders(ctx, js)
	if s, err := js.Stream(ctx, LogsStream); err == nil {
		if info, err := s.Info(ctx); err == nil && info.State.LastSeq > st.LogsSeq {
			rep.StatsLagLogs = info.State.LastSeq - st.LogsSeq
		}
	}
	if s, err := js.Stream(ctx, ResultsStream); err == nil {
		if info, err := s.Info(ctx); err == nil && info.State.LastSeq > st.ResultsSeq {
			rep.StatsLagRes = info.State.LastSeq - st.ResultsSeq
		}
	}
	return rep, nil
}

// leaseHolders lists the held leases; nil when none or no bucket.
func leaseHolders(ctx context.Context, js jetstream.JetStream) map[string]string {
	kv, err := js.KeyValue(ctx, LeaseBucket)
	if err != nil {
		return nil
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		return nil
	}
	var out map[string]string
	for k := range keys.Keys() {
		e, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = string(e.Value())
	}
	return out
}

// topKeyOf keys anomalous lines by template id when the line has one (the
// workload DRAIN's ids), else by masked line (no template fitted).
func topKeyOf(source, ns, wl string, id uint64, masked string) topKey {
	k := topKey{source: source, ns: ns, wl: wl}
	if id != 0 && source == logrec.SourceWorkload {
		k.id = id
	} else {
		k.masked = masked
	}
	return k
}

// TopTemplates returns the n templates with the most anomalous lines.
func (s *Stats) TopTemplates(n int) []TopTemplate {
	s.mu.Lock()
	out := make([]TopTemplate, 0, len(s.st.top))
	for _, t := range s.st.top {
		out = append(out, *t)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Template < out[j].Template
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// BreakdownRow is the Normal/Anomaly count of one source and workload.
type BreakdownRow struct {
	Source    string `json:"source"`
	Namespace string `json:"namespace"`
	Workload  string `json:"workload"`
	Counts
}

// Breakdown sums insights per source and workload over all time.
func (s *Stats) Breakdown() []BreakdownRow {
	type k struct{ src, ns, wl string }
	m := map[k]*Counts{}
	s.mu.Lock()
	for ik, c := range s.st.insights {
		kk := k{ik.Source, ik.Namespace, ik.Workload}
		if m[kk] == nil {
			m[kk] = &Counts{}
		}
		m[kk].Normal += c.Normal
		m[kk].Anomaly += c.Anomaly
	}
	s.mu.Unlock()
	out := make([]BreakdownRow, 0, len(m))
	for kk, c := range m {
		out = append(out, BreakdownRow{Source: kk.src, Namespace: kk.ns, Workload: kk.wl, Counts: *c})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.Namespace+"/"+a.Workload < b.Namespace+"/"+b.Workload
	})
	return out
}
