package core

import (
	"bytes"
	"crypto/rand"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

var (
	idMu      sync.Mutex
	idEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new ULID. Within one process ids are strictly increasing,
// so sorting by id is sorting by creation, even within one millisecond.
func NewID(now time.Time) string {
	if now.IsZero() || now.Before(time.UnixMilli(0)) {
		now = time.Now() // a zero clock is a wiring mistake; ulid cannot encode it
	}
	idMu.Lock()
	defer idMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(now), idEntropy).String()
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
