package core

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// recentMillis bounds how many milliseconds NewID keeps a monotonic
// sequence for. A process dates ids by more than one clock: the present,
// and the time of history it ingests (an order placed in May gets a May
// event id), and tests run many injected clocks side by side. One shared
// monotonic reader restarts from random entropy whenever the millisecond
// changes, so an id of 09:00, one of May, and another of 09:00 put the
// two 09:00 ids in random order — a journey's two messages sent at the
// same instant then showed on the timeline the wrong way round. A
// sequence per millisecond keeps them in order however the clocks
// interleave.
const recentMillis = 256

var (
	idMu sync.Mutex
	// idRandom is shared by every sequence: bufio.NewReader of it (inside
	// ulid.Monotonic) returns it, so a sequence costs a few words, not a
	// 4 KiB buffer.
	idRandom = bufio.NewReader(rand.Reader)
	idSeqs   = map[uint64]*ulid.MonotonicEntropy{}
)

// NewID returns a new ULID. Within one process ids of one millisecond are
// strictly increasing, whatever other milliseconds were used in between,
// so sorting by id is sorting by time and then by creation (for the last
// recentMillis milliseconds used).
func NewID(now time.Time) string {
	if now.IsZero() || now.Before(time.UnixMilli(0)) {
		now = time.Now() // a zero clock is a wiring mistake; ulid cannot encode it
	}
	ms := ulid.Timestamp(now)
	idMu.Lock()
	defer idMu.Unlock()
	seq, ok := idSeqs[ms]
	if !ok {
		if len(idSeqs) >= recentMillis {
			clear(idSeqs) // ids of a millisecond seen again after this are in random order with the earlier ones
		}
		seq = ulid.Monotonic(idRandom, 0)
		idSeqs[ms] = seq
	}
	id, err := ulid.New(ms, seq)
	if err != nil { // ErrMonotonicOverflow: 2^80 ids in one millisecond, or close to it by chance
		seq = ulid.Monotonic(idRandom, 0)
		idSeqs[ms] = seq
		id = ulid.MustNew(ms, seq)
	}
	return id.String()
}

// ValidID reports whether s is a canonical ULID string.
func ValidID(s string) bool {
	id, err := ulid.ParseStrict(s)
	return err == nil && id.String() == s
}

// FirstIDAt returns the smallest id that NewID could make at t: every id
// made at t or later sorts at or after it.
func FirstIDAt(t time.Time) string {
	var zero [10]byte
	id, err := ulid.New(ulid.Timestamp(t), bytes.NewReader(zero[:]))
	if err != nil {
		return "00000000000000000000000000"
	}
	return id.String()
}
