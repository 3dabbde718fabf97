package embedded

import (
	"errors"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Group commit. A bbolt commit costs two fsyncs (the pages, then the meta
// page) whatever it writes, and bbolt runs one writer at a time, so writes
// that each take a commit of their own queue behind each other's syncs.
// Here every write of the store (Put, Delete, Transact) is a request to a
// committer: the first writer to find no commit in flight leads one, with
// every request waiting by then, in one bbolt transaction; writes arriving
// during its sync wait for the next commit, which takes them all. A lone
// writer commits at once (no delay, unlike bbolt's DB.Batch and its 10 ms
// window), and eight writers share a sync instead of queueing for eight.
//
// Each request keeps its own conditions and its own error: it checks every
// condition against the state left by the requests before it in the batch,
// and applies nothing unless they all hold, so a failed condition needs no
// rollback and costs the others nothing (DB.Batch, by contrast, rolls the
// whole batch back and runs it again without the failing call). Requests are
// applied in arrival order, so the batch is the same as running them one by
// one in that order. Only an error bbolt itself raises while applying (a
// write half done) aborts the batch; its requests then run again one per
// commit, each getting its own outcome.

// Background writes (store.Background: the local relay and its consumers)
// do not lead a commit of their own while requests are writing: they wait
// in the queue for the next request's commit, one of them per commit for a
// sequential relay, so a request never waits out a commit made only of
// automation's follow-up writes. When no request has written for idleGap,
// they lead as any write does, and the relay drains at full speed.
const defaultIdleGap = 5 * time.Millisecond

// maxBatch bounds the requests one commit carries, so that one commit's
// work, and the latency of its first request, stay bounded.
const maxBatch = 256

// request is one write waiting for a commit.
type request struct {
	// run checks the request's conditions and applies it in tx. An error
	// it returns as is means it applied nothing (a failed condition); an
	// *applyError means tx is half written and must be rolled back.
	run   func(tx *bolt.Tx) error
	err   error
	taken bool      // in a batch (under committer.mu)
	done  chan bool // true: committed (err is its outcome); false: lead the next commit
}

type applyError struct{ err error }

func (e *applyError) Error() string { return e.err.Error() }
func (e *applyError) Unwrap() error { return e.err }

// committer coalesces concurrent writes into shared commits.
type committer struct {
	db      *bolt.DB
	idleGap time.Duration
	// afterBatch, for tests, runs after a batch is taken from the queue and
	// before its commit.
	afterBatch func(n int)

	mu         sync.Mutex
	queue      []*request
	leading    bool      // a commit is being run; queued requests wait for it
	commits    int       // bbolt write transactions run, for tests and figures
	foreground time.Time // when a request last wrote
}

// write runs fn in a commit shared with the writes that wait beside it and
// returns its own outcome once that commit is durable.
func (c *committer) write(background bool, fn func(tx *bolt.Tx) error) error {
	r := &request{run: fn, done: make(chan bool, 1)}
	now := time.Now()
	c.mu.Lock()
	c.queue = append(c.queue, r)
	if !background {
		c.foreground = now
	}
	wait := c.leading || background && now.Sub(c.foreground) < c.idleGap
	c.leading = c.leading || !wait
	c.mu.Unlock()
	if wait && background {
		// Ride along with the next request's commit, unless none comes.
		timer := time.NewTimer(c.idleGap)
		select {
		case committed := <-r.done:
			timer.Stop()
			if committed {
				return r.err
			}
			wait = false // handed the lead
		case <-timer.C:
			c.mu.Lock()
			// Lead, unless a commit has taken r (its outcome is on the
			// way) or one is running (it will take r or hand over to it).
			// Only a write that leads may set leading: r taken by a commit
			// that has finished must not leave the committer marked busy.
			wait = r.taken || c.leading
			if !wait {
				c.leading = true
			}
			c.mu.Unlock()
		}
	}
	for wait {
		if <-r.done {
			return r.err
		}
		wait = false // the previous leader handed over with r still queued
	}
	c.lead()
	return r.err
}

// lead commits one batch taken from the queue, which holds the leader's own
// request, then hands the lead to the first request left waiting, so that
// no caller stays leader for others' writes.
func (c *committer) lead() {
	c.mu.Lock()
	n := min(len(c.queue), maxBatch)
	batch := c.queue[:n:n]
	for _, r := range batch {
		r.taken = true
	}
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil // let the backing array go
	}
	c.mu.Unlock()
	if c.afterBatch != nil {
		c.afterBatch(len(batch))
	}

	commits := 1
	err := c.db.Update(func(tx *bolt.Tx) error {
		for _, r := range batch {
			r.err = r.run(tx)
			if ae, ok := errors.AsType[*applyError](r.err); ok {
				return ae
			}
		}
		return nil
	})
	if err != nil {
		// Nothing of the batch is written: give each request a commit of
		// its own, hence an outcome of its own.
		for _, r := range batch {
			commits++
			r.err = c.db.Update(r.run)
			if ae, ok := errors.AsType[*applyError](r.err); ok {
				r.err = ae.err
			}
		}
	}

	c.mu.Lock()
	c.commits += commits
	var next *request
	if len(c.queue) > 0 {
		next = c.queue[0]
	} else {
		c.leading = false
	}
	c.mu.Unlock()
	for _, r := range batch {
		r.done <- true
	}
	if next != nil {
		next.done <- false
	}
}

// Commits returns how many bbolt write transactions the store has run: a
// figure for benchmarks and tests of the group commit.
func (s *Store) Commits() int {
	s.commit.mu.Lock()
	defer s.commit.mu.Unlock()
	return s.commit.commits
}
