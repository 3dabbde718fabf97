package ratelimit

import (
	"math"
	"time"
)

// Limit is a token bucket's shape: it refills at Rate tokens a second up to
// Burst, and each request takes one token.
type Limit struct {
	Rate  float64 // tokens a second
	Burst int     // the most tokens it holds
}

// State is a bucket's content at a time. The zero State is a full bucket:
// a bucket nobody has used holds its whole burst.
type State struct {
	Tokens float64   `json:"tokens"`
	At     time.Time `json:"at"`
}

// Decision is what a bucket answered one request, in the units of the
// RateLimit-* headers.
type Decision struct {
	Allowed   bool
	Limit     int           // the burst: the most requests at once
	Remaining int           // whole tokens left after this request
	Reset     time.Duration // until the bucket is full again
	// RetryAfter, on a refusal, is until the next token.
	RetryAfter time.Duration
}

// At returns s refilled to now. A clock that went back refills nothing and
// keeps s's time, so that it cannot be used to mint tokens twice.
func (l Limit) At(s State, now time.Time) State {
	if s.At.IsZero() {
		return State{Tokens: float64(l.Burst), At: now}
	}
	if !now.After(s.At) {
		s.Tokens = math.Min(s.Tokens, float64(l.Burst)) // a burst made smaller
		return s
	}
	tokens := s.Tokens + l.Rate*now.Sub(s.At).Seconds()
	return State{Tokens: math.Min(tokens, float64(l.Burst)), At: now}
}

// Take takes up to n tokens (at least one) from s at now: granted is how
// many it took, zero when not even one was there.
func (l Limit) Take(s State, now time.Time, n int) (next State, granted int) {
	next = l.At(s, now)
	granted = min(n, int(math.Floor(next.Tokens)))
	if granted < 1 {
		return next, 0
	}
	next.Tokens -= float64(granted)
	return next, granted
}

// Decide describes s, after a request that was allowed or not, with
// remaining whole tokens left to the caller (which may hold some aside, as
// a lease does).
func (l Limit) Decide(s State, allowed bool, remaining int) Decision {
	d := Decision{Allowed: allowed, Limit: l.Burst, Remaining: max(0, remaining)}
	if l.Rate <= 0 {
		return d
	}
	d.Reset = l.wait(float64(l.Burst) - s.Tokens)
	if !allowed {
		d.RetryAfter = max(l.wait(1-s.Tokens), time.Millisecond)
	}
	return d
}

// wait is how long the bucket takes to gain tokens.
func (l Limit) wait(tokens float64) time.Duration {
	if tokens <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(tokens / l.Rate * float64(time.Second)))
}
