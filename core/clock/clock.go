// Package clock is the one source of time of a process: the domain, the
// timers and the plugins read it through a Clock handed to package app, so
// that a test can replace it (Fake) and a developer can run it faster
// (FastForward) without any code reading the wall clock on its own.
//
// It must never hold domain rules, and nothing outside it and the process
// mains should call time.Now or time.After for domain time.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and waits for it.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock has reached t
	// (at once when it already has), and a function that releases the wait
	// early. A Fake's waits end when it is advanced, not by wall time.
	At(t time.Time) (<-chan struct{}, func())
}

// System is the wall clock.
var System Clock = system{}

type system struct{}

func (system) Now() time.Time { return time.Now() }

func (system) At(t time.Time) (<-chan struct{}, func()) {
	return waitReal(time.Until(t))
}

func waitReal(d time.Duration) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	if d <= 0 {
		close(ch)
		return ch, func() {}
	}
	tm := time.AfterFunc(d, func() { close(ch) })
	return ch, func() { tm.Stop() }
}

// Func is a clock whose time is now(), waiting on wall time for the
// difference: for a test that offsets the wall clock.
func Func(now func() time.Time) Clock { return funcClock(now) }

type funcClock func() time.Time

func (f funcClock) Now() time.Time { return f() }

func (f funcClock) At(t time.Time) (<-chan struct{}, func()) { return waitReal(t.Sub(f())) }

// FastForward is a clock that starts at the wall clock's time and runs
// factor times faster: for development only (`fedele serve --fast-forward`),
// so that a three-month wait takes a minute. Waits are shortened the same.
func FastForward(factor float64) Clock {
	if factor <= 1 {
		return System
	}
	now := time.Now()
	return &fast{factor: factor, origin: now, real: now}
}

type fast struct {
	factor       float64
	origin, real time.Time
}

// Rate is how many times faster than real time c runs: FastForward's
// factor, 1 for every other clock. What must last a real duration —
// how long a slow writer may lag — is that duration times Rate on c.
func Rate(c Clock) float64 {
	if f, ok := c.(*fast); ok {
		return f.factor
	}
	return 1
}

func (f *fast) Now() time.Time {
	return f.origin.Add(time.Duration(float64(time.Since(f.real)) * f.factor))
}

func (f *fast) At(t time.Time) (<-chan struct{}, func()) {
	return waitReal(time.Duration(float64(t.Sub(f.Now())) / f.factor))
}

// Fake is a clock that moves only when told to. Safe for concurrent use.
type Fake struct {
	mu    sync.Mutex
	now   time.Time
	waits map[*fakeWait]struct{}
}

type fakeWait struct {
	at time.Time
	ch chan struct{}
}

// NewFake returns a fake clock at t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, waits: map[*fakeWait]struct{}{}} }

// Now is the fake's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// At ends when Advance or Set reaches t.
func (f *Fake) At(t time.Time) (<-chan struct{}, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWait{at: t, ch: make(chan struct{})}
	if !t.After(f.now) {
		close(w.ch)
		return w.ch, func() {}
	}
	f.waits[w] = struct{}{}
	return w.ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		delete(f.waits, w)
	}
}

// Advance moves the fake forward by d, ending the waits it reaches.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// Set moves the fake to t (never back).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	for w := range f.waits {
		if !w.at.After(f.now) {
			close(w.ch)
			delete(f.waits, w)
		}
	}
}

// Waiting is how many waits are pending: a test polls it to know that a
// goroutine has gone to sleep before it advances the clock.
func (f *Fake) Waiting() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waits)
}
