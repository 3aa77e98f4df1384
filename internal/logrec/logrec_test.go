package logrec_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lognats/lognats/internal/logrec"
)

func sample() (logrec.Stream, []logrec.Result) {
	s := logrec.Stream{Source: "workload", Cluster: "c1", Namespace: "shop", Workload: "api"}
	rs := []logrec.Result{
		{Record: logrec.Record{Time: time.Unix(1700000000, 123).UTC(), Pod: "api-7d", Container: "app", Message: "GET /cart 200"}, TemplateID: 7, Masked: "GET <PATH> <NUM>", Level: logrec.Normal, Score: 0.9, DecidedBy: "cache"},
		{Record: logrec.Record{Message: "panic: boom \xff"}, Level: logrec.Anomaly, Score: 0.1, DecidedBy: "rule:rare-template"},
		{Record: logrec.Record{Message: ""}},
	}
	return s, rs
}

func TestRoundTrip(t *testing.T) {
	s, rs := sample()
	gotS, got, err := logrec.DecodeResults(logrec.AppendResults(nil, s, rs), nil)
	if err != nil || gotS != s || !reflect.DeepEqual(got, rs) {
		t.Fatalf("results round trip: %v\n got %+v\nwant %+v", err, got, rs)
	}
	recs := []logrec.Record{rs[0].Record, rs[1].Record}
	gotS, gotR, err := logrec.DecodeLogs(logrec.AppendLogs(nil, s, recs), nil)
	if err != nil || gotS != s || !reflect.DeepEqual(gotR, recs) {
		t.Fatalf("logs round trip: %v %+v", err, gotR)
	}
	// The writer and the walker agree with the value codec.
	var w logrec.ResultsWriter
	w.Start(s, len(rs), 0)
	err = logrec.WalkResults(logrec.AppendResults(nil, s, rs), func(_ *logrec.Stream, v *logrec.ResultView) {
		w.AddRaw(v.Time, v.Pod, v.Container, v.Message, v.TemplateID, v.Masked, v.Level, v.Score, v.DecidedBy)
	})
	if err != nil || !bytes.Equal(w.Bytes(), logrec.AppendResults(nil, s, rs)) {
		t.Fatalf("ResultsWriter output differs from AppendResults: %v", err)
	}
}

func TestCorruptBatches(t *testing.T) {
	s, rs := sample()
	good := logrec.AppendResults(nil, s, rs)
	for cut := 0; cut < len(good); cut++ {
		if _, _, err := logrec.DecodeResults(good[:cut], nil); !errors.Is(err, logrec.ErrCorrupt) {
			t.Fatalf("truncated at %d: err %v", cut, err)
		}
	}
	if _, _, err := logrec.DecodeLogs(good, nil); !errors.Is(err, logrec.ErrCorrupt) {
		t.Fatalf("results batch read as logs: %v", err)
	}
	bad := append([]byte(nil), good...)
	bad[2] = 9
	if _, _, err := logrec.DecodeResults(bad, nil); err == nil {
		t.Fatal("unknown version accepted")
	}
}

func TestTokens(t *testing.T) {
	for _, name := range []string{"api", "", "a.b", "x y", "*", ">", "~tilde", "ünïcode", "a\x00b", "kube-system"} {
		tok := logrec.Token(name)
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c <= ' ' || c >= 0x7f || c == '.' || c == '*' || c == '>' {
				t.Fatalf("Token(%q) = %q is not a valid subject token", name, tok)
			}
		}
		back, err := logrec.Untoken(tok)
		if err != nil || back != name {
			t.Fatalf("Untoken(Token(%q)) = %q, %v", name, back, err)
		}
	}
	s := logrec.Stream{Source: "workload", Cluster: "prod.eu", Namespace: "", Workload: "web app"}
	_, got, err := logrec.ParseSubject(s.Subject("logs"))
	if err != nil || got != s {
		t.Fatalf("ParseSubject(%q) = %+v, %v", s.Subject("logs"), got, err)
	}
}

func FuzzDecode(f *testing.F) {
	s, rs := sample()
	f.Add(logrec.AppendResults(nil, s, rs))
	f.Add(logrec.AppendLogs(nil, s, []logrec.Record{rs[0].Record}))
	f.Add([]byte("L\x01\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never panic; a batch that decodes re-encodes to the same bytes.
		if s, rs, err := logrec.DecodeResults(b, nil); err == nil {
			if out := logrec.AppendResults(nil, s, rs); !bytes.Equal(out, b) && len(rs) > 0 {
				if _, again, err := logrec.DecodeResults(out, nil); err != nil || len(again) != len(rs) {
					t.Fatalf("re-encoding changed the batch: %v", err)
				}
			}
		}
		_, _, _ = logrec.DecodeLogs(b, nil)
		_ = logrec.WalkResults(b, func(*logrec.Stream, *logrec.ResultView) {})
		_, _, _ = logrec.WalkLogs(b, func(*logrec.Stream, *logrec.RecordView) {})
	})
}
