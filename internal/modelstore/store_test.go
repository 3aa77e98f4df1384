package modelstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/lognats/lognats/internal/modelstore"
	"github.com/lognats/lognats/internal/natstest"
)

func openStore(t *testing.T, nc *nats.Conn, cfg modelstore.Config) *modelstore.Store {
	t.Helper()
	s, err := modelstore.Open(context.Background(), nc, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustModel(t testing.TB, s string) modelstore.Model {
	m, err := modelstore.ParseModel(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPutGetRoundTrip(t *testing.T) {
	natstest.Both(t, func(t *testing.T, srv *natstest.Server) {
		ctx := context.Background()
		s := openStore(t, srv.Connect(t), modelstore.Config{})
		m := mustModel(t, "nulog/workload")
		v1data := randBytes(t, 3<<20+17)
		v1, err := s.Put(ctx, m, bytes.NewReader(v1data), modelstore.PutOptions{Format: "nulog-safetensors", FormatVersion: 1, Meta: map[string]string{"score": "0.93", "lines": "1000"}})
		if err != nil {
			t.Fatalf("Put: %v", err)
		}
		if v1.Version != 1 || !v1.Current || v1.Bucket != modelstore.DefaultModelBucket || v1.Object != "nulog/workload/v1" {
			t.Fatalf("Put() = %+v", v1)
		}
		v2, err := s.Put(ctx, m, strings.NewReader("second"), modelstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if v2.Version != 2 || v2.Parent != 1 {
			t.Fatalf("second Put() = %+v, want v2 with parent 1", v2)
		}
		var buf bytes.Buffer
		got, err := s.Get(ctx, modelstore.Ref{Model: m, Version: 1}, &buf)
		if err != nil {
			t.Fatalf("Get v1: %v", err)
		}
		if !bytes.Equal(buf.Bytes(), v1data) {
			t.Fatalf("Get v1 returned %d bytes, differing from the %d put", buf.Len(), len(v1data))
		}
		if got.Meta["score"] != "0.93" || got.Format != "nulog-safetensors" || got.FormatVersion != 1 || got.Current {
			t.Fatalf("Get v1 info = %+v", got)
		}
		buf.Reset()
		if cur, err := s.Get(ctx, modelstore.Ref{Model: m}, &buf); err != nil || buf.String() != "second" || cur.Version != 2 {
			t.Fatalf("Get current = %+v %q %v", cur, buf.String(), err)
		}
		// DRAIN models go to their own bucket.
		d, err := s.Put(ctx, mustModel(t, "drain/workload"), strings.NewReader("drain"), modelstore.PutOptions{})
		if err != nil || d.Bucket != modelstore.DefaultDrainBucket {
			t.Fatalf("drain Put = %+v, %v", d, err)
		}
		// Empty models are legal.
		e, err := s.Put(ctx, mustModel(t, "nulog/empty"), bytes.NewReader(nil), modelstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		buf.Reset()
		if _, err := s.Get(ctx, e.Ref, &buf); err != nil || buf.Len() != 0 {
			t.Fatalf("Get empty: %v (%d bytes)", err, buf.Len())
		}
		sums, err := s.List(ctx)
		if err != nil || len(sums) != 3 {
			t.Fatalf("List = %+v, %v", sums, err)
		}
		// Promote rolls back.
		if _, err := s.Promote(ctx, modelstore.Ref{Model: m, Version: 1}); err != nil {
			t.Fatal(err)
		}
		if info, err := s.Info(ctx, modelstore.Ref{Model: m}); err != nil || info.Version != 1 {
			t.Fatalf("after promote current = %+v, %v", info, err)
		}
		// A rolled-back model's next put still gets a fresh version number.
		v3, err := s.Put(ctx, m, strings.NewReader("third"), modelstore.PutOptions{})
		if err != nil || v3.Version != 3 || v3.Parent != 1 {
			t.Fatalf("Put after rollback = %+v, %v", v3, err)
		}
	})
}

func TestConcurrentPutsGetDistinctVersions(t *testing.T) {
	natstest.Both(t, func(t *testing.T, srv *natstest.Server) {
		ctx := context.Background()
		s := openStore(t, srv.Connect(t), modelstore.Config{Keep: -1})
		m := mustModel(t, "drain/concurrent")
		const n = 50
		var wg sync.WaitGroup
		versions := make([]uint64, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each writer has its own connection, as separate processes would.
				s2 := openStore(t, srv.Connect(t), modelstore.Config{Keep: -1})
				v, err := s2.Put(ctx, m, strings.NewReader(fmt.Sprintf("model-%d", i)), modelstore.PutOptions{Meta: map[string]string{"writer": fmt.Sprint(i)}})
				versions[i], errs[i] = v.Version, err
			}()
		}
		wg.Wait()
		seen := map[uint64]int{}
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("writer %d: %v", i, errs[i])
			}
			if j, dup := seen[versions[i]]; dup {
				t.Fatalf("writers %d and %d both got v%d", i, j, versions[i])
			}
			seen[versions[i]] = i
		}
		for v, i := range seen {
			var buf bytes.Buffer
			info, err := s.Get(ctx, modelstore.Ref{Model: m, Version: v}, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("model-%d", i); buf.String() != want || info.Meta["writer"] != fmt.Sprint(i) {
				t.Fatalf("v%d holds %q (writer %s), want %q", v, buf.String(), info.Meta["writer"], want)
			}
		}
		cur, err := s.Info(ctx, modelstore.Ref{Model: m})
		if err != nil || cur.Version != n {
			t.Fatalf("current = v%d, %v; want v%d (the newest wins)", cur.Version, err, n)
		}
	})
}

// tamper replaces one chunk of an object by a modified copy, through the server.
func tamper(t *testing.T, nc *nats.Conn, bucket, object string) {
	t.Helper()
	ctx := context.Background()
	js, _ := jetstream.New(nc)
	obs, err := js.ObjectStore(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	info, err := obs.GetInfo(ctx, object)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(ctx, "OBJ_"+bucket)
	if err != nil {
		t.Fatal(err)
	}
	subj := "$O." + bucket + ".C." + info.NUID
	last, err := st.GetLastMsgForSubject(ctx, subj)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(ctx, last.Sequence); err != nil {
		t.Fatal(err)
	}
	data := append([]byte(nil), last.Data...)
	data[len(data)/2] ^= 0xff
	if _, err := js.Publish(ctx, subj, data); err != nil {
		t.Fatal(err)
	}
}

func TestTamperedChunkFailsGetAndVerify(t *testing.T) {
	natstest.Both(t, func(t *testing.T, srv *natstest.Server) {
		ctx := context.Background()
		nc := srv.Connect(t)
		s := openStore(t, nc, modelstore.Config{})
		m := mustModel(t, "nulog/rancher")
		good, err := s.Put(ctx, m, bytes.NewReader(randBytes(t, 1<<20)), modelstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		bad, err := s.Put(ctx, m, bytes.NewReader(randBytes(t, 2<<20+5)), modelstore.PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tamper(t, nc, bad.Bucket, bad.Object)
		_, err = s.Get(ctx, bad.Ref, io.Discard)
		var de *modelstore.DigestError
		if !errors.As(err, &de) || !errors.Is(err, modelstore.ErrDigestMismatch) || !strings.Contains(err.Error(), bad.Object) {
			t.Fatalf("Get tampered = %v, want a DigestError naming %s", err, bad.Object)
		}
		if _, err := s.Get(ctx, good.Ref, io.Discard); err != nil {
			t.Fatalf("untouched version: %v", err)
		}
		rep, err := s.Verify(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Checked != 2 || len(rep.Problems) < 1 || rep.Problems[0].Ref != bad.Ref.String() {
			t.Fatalf("Verify = %+v, want the tampered %s reported", rep, bad.Ref)
		}
		// A damaged version must not be promoted.
		if _, err := s.Promote(ctx, bad.Ref); !errors.Is(err, modelstore.ErrDigestMismatch) {
			t.Fatalf("Promote damaged = %v", err)
		}
	})
}

func TestRetentionAndTombstones(t *testing.T) {
	srv := natstest.Embedded(t, "")
	ctx := context.Background()
	nc := srv.Connect(t)
	s := openStore(t, nc, modelstore.Config{Keep: 3})
	m := mustModel(t, "drain/workload")
	for i := range 8 {
		if _, err := s.Put(ctx, m, strings.NewReader(fmt.Sprint("v", i)), modelstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Roll back to v6, then put twice more: v6 (current) must survive retention.
	if _, err := s.Promote(ctx, modelstore.Ref{Model: m, Version: 6}); err != nil {
		t.Fatal(err)
	}
	if got := historyVersions(t, s, m); got != "[8 7 6]" {
		t.Fatalf("history after 8 puts with keep=3: %v", got)
	}
	if err := s.Delete(ctx, modelstore.Ref{Model: m, Version: 6}, false); !errors.Is(err, modelstore.ErrCurrentVersion) {
		t.Fatalf("Delete current = %v, want ErrCurrentVersion", err)
	}
	if err := s.Delete(ctx, modelstore.Ref{Model: m, Version: 7}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Info(ctx, modelstore.Ref{Model: m, Version: 7}); !errors.Is(err, modelstore.ErrNotFound) {
		t.Fatalf("Info deleted = %v", err)
	}
	// No delete markers pile up: the meta subjects left are the live versions.
	js, _ := jetstream.New(nc)
	st, _ := js.Stream(ctx, "OBJ_"+modelstore.DefaultDrainBucket)
	si, err := st.Info(ctx, jetstream.WithSubjectFilter("$O."+modelstore.DefaultDrainBucket+".M.>"))
	if err != nil {
		t.Fatal(err)
	}
	if len(si.State.Subjects) != 2 {
		t.Fatalf("meta subjects = %d, want 2 (v6, v8): tombstones are piling up", len(si.State.Subjects))
	}
}

func TestGCReclaimsInterruptedPut(t *testing.T) {
	natstest.Both(t, func(t *testing.T, srv *natstest.Server) {
		ctx := context.Background()
		nc := srv.Connect(t)
		s := openStore(t, nc, modelstore.Config{})
		m := mustModel(t, "nulog/workload")
		keep := randBytes(t, 300<<10)
		if _, err := s.Put(ctx, m, bytes.NewReader(keep), modelstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		before, err := s.StreamBytes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A put cancelled midway: the reader blocks until we cancel.
		cctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := s.Put(cctx, m, pr, modelstore.PutOptions{})
			done <- err
		}()
		chunk := randBytes(t, 256<<10)
		for range 8 {
			pw.Write(chunk)
		}
		cancel()
		go pw.Write(chunk) // a reader blocked in Read sees the cancellation after this chunk
		err = <-done
		pr.Close()
		if err == nil {
			t.Fatal("cancelled Put succeeded")
		}
		// A killed put (no chance to clean up): chunks with no metadata.
		js, _ := jetstream.New(nc)
		for range 5 {
			if _, err := js.Publish(ctx, "$O."+modelstore.DefaultModelBucket+".C.KILLEDPUTNUID", chunk); err != nil {
				t.Fatal(err)
			}
		}
		if cur, err := s.Info(ctx, modelstore.Ref{Model: m}); err != nil || cur.Version != 1 {
			t.Fatalf("current after failed puts = %+v, %v", cur, err)
		}
		hist, _ := s.History(ctx, m)
		if len(hist) != 1 {
			t.Fatalf("history shows %d versions, want 1 (no partial version visible)", len(hist))
		}
		// Within the grace period nothing is touched.
		rep, err := s.GC(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if rep.OrphanPuts != 0 || rep.Skipped == 0 {
			t.Fatalf("GC with grace = %+v, want orphans skipped", rep)
		}
		rep, err = s.GC(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := s.StreamBytes(ctx)
		if rep.OrphanPuts < 1 || after > before+4096 {
			t.Fatalf("GC = %+v; bytes before put %d, after gc %d", rep, before, after)
		}
		var buf bytes.Buffer
		if _, err := s.Get(ctx, modelstore.Ref{Model: m}, &buf); err != nil || !bytes.Equal(buf.Bytes(), keep) {
			t.Fatalf("current version damaged by GC: %v", err)
		}
	})
}

func TestNamesValidatedBeforeNATS(t *testing.T) {
	srv := natstest.Embedded(t, "")
	nc := srv.Connect(t)
	s := openStore(t, nc, modelstore.Config{})
	ctx := context.Background()
	bad := []string{"", "drain", "drain/", "/x", "Drain/x", "drain/a b", "drain/" + strings.Repeat("x", 5000), "drain/x@v0", "drain/x@vx", "drain/x.y", "drain/x/y"}
	for _, in := range bad {
		if _, err := modelstore.ParseRef(in); !errors.Is(err, modelstore.ErrInvalidName) {
			t.Errorf("ParseRef(%.30q) = %v, want ErrInvalidName", in, err)
		}
	}
	long := modelstore.Model{Kind: "drain", Scope: strings.Repeat("a", 100000)}
	if _, err := s.Put(ctx, long, strings.NewReader("x"), modelstore.PutOptions{}); !errors.Is(err, modelstore.ErrInvalidName) {
		t.Fatalf("Put long name = %v", err)
	}
	if _, err := s.Put(ctx, mustModel(t, "drain/x"), strings.NewReader("x"), modelstore.PutOptions{Meta: map[string]string{"lognats-kind": "evil"}}); !errors.Is(err, modelstore.ErrInvalidName) {
		t.Fatalf("Put reserved meta = %v", err)
	}
	if _, err := modelstore.Open(ctx, nc, modelstore.Config{DrainBucket: strings.Repeat("b", 300)}); !errors.Is(err, modelstore.ErrInvalidName) {
		t.Fatalf("Open long bucket = %v", err)
	}
	if !nc.IsConnected() {
		t.Fatal("connection dropped")
	}
	if _, err := s.Put(ctx, mustModel(t, "drain/x"), strings.NewReader("x"), modelstore.PutOptions{}); err != nil {
		t.Fatalf("connection unusable after bad names: %v", err)
	}
}

func TestWatchSeesPointerMoves(t *testing.T) {
	srv := natstest.Embedded(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openStore(t, srv.Connect(t), modelstore.Config{})
	m := mustModel(t, "nulog/longhorn")
	if _, err := s.Put(ctx, m, strings.NewReader("a"), modelstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ch, err := s.Watch(ctx, &m)
	if err != nil {
		t.Fatal(err)
	}
	next := func() modelstore.Event {
		select {
		case ev := <-ch:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event")
		}
		return modelstore.Event{}
	}
	if ev := next(); ev.Version != 1 || !ev.Initial {
		t.Fatalf("first event = %+v, want initial v1", ev)
	}
	if _, err := s.Put(ctx, m, strings.NewReader("b"), modelstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Version != 2 || ev.Initial {
		t.Fatalf("event after put = %+v", ev)
	}
	if _, err := s.Promote(ctx, modelstore.Ref{Model: m, Version: 1}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Version != 1 {
		t.Fatalf("event after promote = %+v", ev)
	}
}

func TestGracefulRestartKeepsModels(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	srv := natstest.Embedded(t, dir)
	nc := srv.Connect(t)
	s := openStore(t, nc, modelstore.Config{})
	data := randBytes(t, 5<<20)
	v, err := s.Put(ctx, mustModel(t, "drain/pretrained-rancher"), bytes.NewReader(data), modelstore.PutOptions{Meta: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	srv.Stop()
	srv2 := natstest.Embedded(t, dir)
	s2 := openStore(t, srv2.Connect(t), modelstore.Config{})
	var buf bytes.Buffer
	got, err := s2.Get(ctx, modelstore.Ref{Model: v.Model}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) || got.Version != v.Version || got.Meta["k"] != "v" || got.SHA256 != v.SHA256 {
		t.Fatalf("after restart got %+v", got)
	}
}

func TestSlowReaderOutlivesDefaultTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 6 s")
	}
	srv := natstest.Embedded(t, "")
	ctx := context.Background()
	s := openStore(t, srv.Connect(t), modelstore.Config{})
	data := randBytes(t, 8<<20)
	v, err := s.Put(ctx, mustModel(t, "nulog/big"), bytes.NewReader(data), modelstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	start := time.Now()
	p := make([]byte, 64<<10)
	for {
		n, err := r.Read(p)
		buf.Write(p[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read after %s: %v", time.Since(start), err)
		}
		time.Sleep(50 * time.Millisecond) // 128 reads: ~6.4 s, past the client's 5 s default
	}
	if time.Since(start) < 5*time.Second || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("slow read took %s, %d bytes", time.Since(start), buf.Len())
	}
}

// Retention counts versions, not version numbers: after an rm leaves a
// gap, a put must still leave the newest Keep versions.
func TestRetentionCountsVersionsAcrossGaps(t *testing.T) {
	srv := natstest.Embedded(t, "")
	ctx := context.Background()
	s := openStore(t, srv.Connect(t), modelstore.Config{Keep: 3})
	m := mustModel(t, "k/r")
	put := func() {
		t.Helper()
		if _, err := s.Put(ctx, m, strings.NewReader("x"), modelstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put()
	put()
	put()
	if err := s.Delete(ctx, modelstore.Ref{Model: m, Version: 2}, false); err != nil {
		t.Fatal(err)
	}
	put() // v4: v1, v3, v4 are three versions, all kept
	if got := historyVersions(t, s, m); got != "[4 3 1]" {
		t.Fatalf("history = %v, want [4 3 1]", got)
	}
	put() // v5 pushes out v1 only
	if got := historyVersions(t, s, m); got != "[5 4 3]" {
		t.Fatalf("history = %v, want [5 4 3]", got)
	}
}

// historyVersions lists m's version numbers, newest first, as "[3 2 1]".
func historyVersions(t *testing.T, s *modelstore.Store, m modelstore.Model) string {
	t.Helper()
	hist, err := s.History(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, v := range hist {
		got = append(got, v.Version)
	}
	return fmt.Sprint(got)
}

// A byte flipped in the server's block file (disk damage under a stopped
// server): get fails with an error that names the object, within the stall
// timeout rather than the whole read deadline, and never returns the bytes.
func TestDamagedBlockFileIsReported(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the stall timeout")
	}
	dir := t.TempDir()
	srv := natstest.Embedded(t, dir)
	ctx := context.Background()
	s := openStore(t, srv.Connect(t), modelstore.Config{ChunkSize: 64 << 10})
	data := randBytes(t, 1<<20)
	v, err := s.Put(ctx, mustModel(t, "nulog/disk"), bytes.NewReader(data), modelstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	flipInBlock(t, dir, false, func(n int) int { return n / 2 }) // inside a data chunk
	srv = natstest.Embedded(t, dir)
	s = openStore(t, srv.Connect(t), modelstore.Config{})
	start := time.Now()
	var out bytes.Buffer
	_, err = s.Get(ctx, v.Ref, &out)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("get of a damaged object succeeded (%d bytes)", out.Len())
	}
	if !strings.Contains(err.Error(), v.Object) || !strings.Contains(err.Error(), "damaged") && !strings.Contains(err.Error(), "digest") || took > modelstore.StallTimeout+10*time.Second {
		t.Fatalf("after %s: %v", took, err)
	}
	t.Logf("after %s: %v", took.Round(time.Millisecond), err)
}

// Damage to a version's metadata must not make the store look clean:
// verify counts the metadata entries the stream holds against those it
// could read.
func TestVerifyReportsUnreadableMetadata(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a server")
	}
	dir := t.TempDir()
	srv := natstest.Embedded(t, dir)
	ctx := context.Background()
	s := openStore(t, srv.Connect(t), modelstore.Config{})
	m := mustModel(t, "nulog/meta")
	for range 2 {
		if _, err := s.Put(ctx, m, bytes.NewReader(randBytes(t, 1<<20)), modelstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	srv.Stop()
	flipInBlock(t, dir, true, func(n int) int { return n - 60 }) // inside the last message: v2's metadata
	srv = natstest.Embedded(t, dir)
	s = openStore(t, srv.Connect(t), modelstore.Config{})
	rep, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) == 0 {
		t.Fatalf("verify of a store with damaged metadata found nothing: %+v", rep)
	}
	t.Logf("%+v", rep.Problems)
}

// flipInBlock flips one byte of the model bucket's first (or last) block
// file under a stopped server's folder, as disk damage would.
func flipInBlock(t *testing.T, dir string, last bool, at func(size int) int) {
	t.Helper()
	blocks, _ := filepath.Glob(filepath.Join(dir, "*", "jetstream", "*", "streams", "OBJ_"+modelstore.DefaultModelBucket, "msgs", "*.blk"))
	if len(blocks) == 0 {
		t.Skip("block files not found where expected")
	}
	path := blocks[0]
	if last {
		path = blocks[len(blocks)-1]
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at(len(b))] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
