package embedded

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/fedele-crm/fedele/core/store"
)

// gather makes the store's first commit wait until total writes have been
// handed to the committer, so that every write after the first shares the
// second commit: a batch the test chooses, without sleeping.
func gather(t *testing.T, s *Store, total int) {
	t.Helper()
	var once sync.Once
	s.commit.afterBatch = func(n int) {
		once.Do(func() {
			deadline := time.Now().Add(10 * time.Second)
			for {
				s.commit.mu.Lock()
				queued := n + len(s.commit.queue)
				s.commit.mu.Unlock()
				if queued == total {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("only %d of %d writes reached the committer", queued, total)
					return
				}
				time.Sleep(100 * time.Microsecond) // polling: the writers are starting
			}
		})
	}
}

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "fedele.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// run calls each write from its own goroutine and returns their errors.
func run(writes []func() error) []error {
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
	}
	wg.Wait()
	return errs
}

func TestConcurrentWritesShareACommit(t *testing.T) {
	s := openInternal(t)
	const writers = 64
	gather(t, s, writers)
	before := s.Commits()
	ws := make([]func() error, writers)
	for i := range ws {
		ws[i] = func() error {
			return s.Put(context.Background(), store.Item{Key: store.Key{PK: "T#a", SK: fmt.Sprint(i)}, Version: 1}, store.Cond{MustNotExist: true})
		}
	}
	for i, err := range run(ws) {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if got := s.Commits() - before; got != 2 {
		t.Errorf("%d writers took %d commits, want 2 (the first, then every other one together)", writers, got)
	}
	page, err := s.Query(context.Background(), store.Query{PK: "T#a", Limit: store.MaxPageItems})
	if err != nil || len(page.Items) != writers {
		t.Errorf("after the commits: %d items, %v; want %d", len(page.Items), err, writers)
	}
}

// Writes in one commit keep their own conditions and their own errors: a
// failed condition fails that write alone, and its transaction applies
// nothing; writes after it see the writes before it.
func TestEachWriteInACommitKeepsItsOwnOutcome(t *testing.T) {
	s := openInternal(t)
	ctx := context.Background()
	key := func(sk string) store.Key { return store.Key{PK: "T#a", SK: sk} }
	put := func(sk string, version int64, cond store.Cond) store.Write {
		return store.Write{Op: store.OpPut, Item: store.Item{Key: key(sk), Version: version}, Cond: cond}
	}
	if err := s.Put(ctx, store.Item{Key: key("v"), Version: 3}, store.Cond{}); err != nil {
		t.Fatal(err)
	}
	var ws []func() error
	const racers = 8 // all create "same": one wins
	for range racers {
		ws = append(ws, func() error {
			return s.Put(ctx, store.Item{Key: key("same"), Version: 1}, store.Cond{MustNotExist: true})
		})
	}
	ws = append(ws,
		// Its second condition fails: neither write may be applied.
		func() error {
			return s.Transact(ctx, []store.Write{put("tx-first", 1, store.Cond{MustNotExist: true}), put("v", 10, store.Cond{Version: 9})})
		},
		func() error {
			return s.Transact(ctx, []store.Write{put("tx-ok", 1, store.Cond{}), put("v", 4, store.Cond{Version: 3})})
		},
		func() error { return s.Delete(ctx, key("absent"), store.Cond{MustExist: true}) },
	)
	gather(t, s, len(ws))
	before := s.Commits()
	errs := run(ws)
	if got := s.Commits() - before; got > 2 {
		t.Errorf("%d writes took %d commits, want at most 2", len(ws), got)
	}

	won := 0
	for i, err := range errs[:racers] {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrConditionFailed):
			t.Errorf("racer %d: %v, want a failed condition", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d racers created the same item, want 1", won)
	}
	var tc *store.TxCancelledError
	if err := errs[racers]; !errors.As(err, &tc) || tc.Index != 1 {
		t.Errorf("transaction with a stale version: %v, want cancelled at write 1", err)
	}
	if err := errs[racers+1]; err != nil {
		t.Errorf("transaction on version 3: %v", err)
	}
	if err := errs[racers+2]; !errors.Is(err, store.ErrConditionFailed) {
		t.Errorf("delete of an absent item that must exist: %v", err)
	}
	if _, err := s.Get(ctx, key("tx-first")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled transaction's first write was applied: %v", err)
	}
	for sk, version := range map[string]int64{"tx-ok": 1, "v": 4, "same": 1} {
		if it, err := s.Get(ctx, key(sk)); err != nil || it.Version != version {
			t.Errorf("%s: version %d, %v; want %d", sk, it.Version, err, version)
		}
	}
}

// A write that fails half applied (bbolt refusing it) rolls back its batch;
// every write of the batch then runs in a commit of its own, so the others
// still commit and it alone gets its error.
func TestAHalfAppliedWriteFailsAlone(t *testing.T) {
	s := openInternal(t)
	ctx := context.Background()
	boom := errors.New("refused after writing")
	ws := []func() error{
		func() error {
			return s.commit.write(false, func(tx *bolt.Tx) error {
				if err := tx.Bucket(tableBucket).Put([]byte("half"), []byte("x")); err != nil {
					return err
				}
				return &applyError{boom}
			})
		},
	}
	for i := range 4 {
		ws = append(ws, func() error {
			return s.Put(ctx, store.Item{Key: store.Key{PK: "T#a", SK: fmt.Sprint(i)}, Version: 1}, store.Cond{MustNotExist: true})
		})
	}
	gather(t, s, len(ws))
	errs := run(ws)
	want := []error{boom, nil, nil, nil, nil}
	if diff := cmp.Diff(want, errs, cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) || errors.Is(b, a) })); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(tableBucket).Get([]byte("half")) != nil {
			return errors.New("the failed write's half is in the file")
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	for i := range 4 {
		if _, err := s.Get(ctx, store.Key{PK: "T#a", SK: fmt.Sprint(i)}); err != nil {
			t.Errorf("write %d of the rolled-back batch: %v", i, err)
		}
	}
}

// Automation's writes (store.Background) do not take a commit of their own
// while requests write: they ride along with the next request's commit, and
// commit alone only when no request has written for the idle gap.
func TestBackgroundWritesRideAlongWithRequests(t *testing.T) {
	ctx := context.Background()
	bg := store.Background(ctx)
	item := func(sk string) store.Item { return store.Item{Key: store.Key{PK: "T#a", SK: sk}, Version: 1} }
	queued := func(s *Store, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.commit.mu.Lock()
			got := len(s.commit.queue)
			s.commit.mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d writes queued, want %d", got, n)
			}
			time.Sleep(100 * time.Microsecond) // polling: the writer is starting
		}
	}

	t.Run("a request's commit takes it", func(t *testing.T) {
		s := openInternal(t)
		s.commit.idleGap = time.Hour // it would wait that long for a request
		if err := s.Put(ctx, item("request-1"), store.Cond{}); err != nil {
			t.Fatal(err)
		}
		before := s.Commits()
		done := make(chan error, 1)
		go func() { done <- s.Put(bg, item("automation"), store.Cond{MustNotExist: true}) }()
		queued(s, 1) // waiting, not committing
		if got := s.Commits() - before; got != 0 {
			t.Fatalf("the background write took %d commits of its own", got)
		}
		if err := s.Put(ctx, item("request-2"), store.Cond{}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("background write: %v", err)
		}
		if got := s.Commits() - before; got != 1 {
			t.Errorf("a request and a background write took %d commits, want 1", got)
		}
	})
	t.Run("alone when no request writes", func(t *testing.T) {
		s := openInternal(t)
		s.commit.idleGap = time.Millisecond
		for _, sk := range []string{"first", "after-a-request"} {
			if err := s.Put(bg, item(sk), store.Cond{MustNotExist: true}); err != nil {
				t.Fatalf("%s: %v", sk, err)
			}
			if err := s.Put(ctx, item("request-"+sk), store.Cond{}); err != nil {
				t.Fatal(err)
			}
		}
		for _, sk := range []string{"first", "after-a-request"} {
			if _, err := s.Get(ctx, store.Key{PK: "T#a", SK: sk}); err != nil {
				t.Errorf("%s: %v", sk, err)
			}
		}
	})
}

// Requests and background writes racing for the lead, with an idle gap
// about as long as a commit, so that a background write's wait often ends
// just as a request's commit takes it: every write must still return, and
// later writes must still find a leader.
func TestBackgroundAndRequestsNeverStall(t *testing.T) {
	s := openInternal(t)
	s.commit.idleGap = 500 * time.Microsecond
	bg := store.Background(context.Background())
	done := make(chan error, 4)
	for i := range 300 {
		for j, ctx := range []context.Context{context.Background(), bg, context.Background(), bg} {
			go func() {
				done <- s.Put(ctx, store.Item{Key: store.Key{PK: "T#a", SK: fmt.Sprint(i, "-", j)}, Version: 1}, store.Cond{MustNotExist: true})
			}()
		}
		timeout := time.After(10 * time.Second)
		for range 4 {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-timeout:
				t.Fatalf("round %d: writes stalled with the committer %+v", i, committerState(s))
			}
		}
	}
}

func committerState(s *Store) map[string]any {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return map[string]any{"queued": len(s.commit.queue), "leading": s.commit.leading}
}
