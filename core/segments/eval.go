package segments

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// The behavioural functions. A transaction day D (a date in the tenant's
// zone) is "within" w while now < the end of D + w; an event type last
// seen at L while now - L < w. So each of them flips at an instant that
// follows from the data and the expression's constants, which is what
// nextFlip looks for.

func (h *History) dayEnd(date string) (time.Time, bool) {
	d, err := time.ParseInLocation(time.DateOnly, date, h.Loc)
	if err != nil {
		return time.Time{}, false
	}
	return d.AddDate(0, 0, 1), true
}

// counts says whether day is within w of now (w < 0: ever).
func (h *History) counts(date string, w time.Duration) bool {
	if w < 0 {
		return true
	}
	end, ok := h.dayEnd(date)
	return ok && h.Now.Before(end.Add(w))
}

func (h *History) ordered(category string, w time.Duration) bool {
	category = strings.ToLower(strings.Trim(category, "/ "))
	for _, d := range slices.Backward(h.Days) {
		if h.counts(d.Date, w) && dayHas(d, category) {
			return true
		}
	}
	return false
}

func (h *History) ordersWithin(w time.Duration) int64 {
	var n int64
	for _, d := range h.Days {
		if h.counts(d.Date, w) {
			n += int64(d.Orders)
		}
	}
	return n
}

func (h *History) spentWithin(currency string, w time.Duration) int64 {
	var n int64
	for _, d := range h.Days {
		if !h.counts(d.Date, w) {
			continue
		}
		for _, a := range d.Amounts {
			if a.Currency == currency {
				n += a.Net
			}
		}
	}
	return n
}

func (h *History) did(typ string, w time.Duration) bool {
	at, ok := h.Seen[typ]
	if !ok || at.After(h.Now) {
		return false
	}
	return w < 0 || h.Now.Sub(at) < w
}

// daysSince counts calendar days in the tenant's zone from t's date to
// today's: 0 on the same day, 1 from the next midnight on.
func (h *History) daysSince(t time.Time) int64 {
	a, b := t.In(h.Loc), h.Now.In(h.Loc)
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int64(db.Sub(da) / (24 * time.Hour))
}

// nextBirthdays are the contact's birthday this year and next, at local
// midnight (29 February is the 28th in other years).
func (h *History) nextBirthdays() []time.Time {
	b, err := time.Parse(time.DateOnly, h.Birthday)
	if err != nil {
		return nil
	}
	now := h.Now.In(h.Loc)
	var out []time.Time
	for y := now.Year(); y <= now.Year()+1; y++ {
		m, d := b.Month(), b.Day()
		if m == time.February && d == 29 && !leap(y) {
			d = 28
		}
		out = append(out, time.Date(y, m, d, 0, 0, 0, 0, h.Loc))
	}
	return out
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// birthdayIn is true from w before the contact's next birthday until the
// end of that day.
func (h *History) birthdayIn(w time.Duration) bool {
	for _, b := range h.nextBirthdays() {
		if !h.Now.Before(b.AddDate(0, 0, 1)) {
			continue // that one is over
		}
		return b.Sub(h.Now) <= w
	}
	return false
}

// activation resolves the view's variables without a map per evaluation.
type activation struct{ v *vars }

func (a activation) ResolveName(name string) (any, bool) {
	switch name {
	case "contact":
		return a.v.contact, true
	case "company":
		return a.v.company, true
	case "purchases":
		return a.v.purchases, true
	case "rfm":
		return a.v.rfm, true
	case "lifecycle":
		return a.v.lifecycle, true
	case "clv":
		return a.v.clv, true
	case "score":
		return a.v.score, true
	case "last_order":
		return a.v.lastOrder, true
	case "now":
		return a.v.history.Now, true
	case historyVar:
		return a.v.history, true
	}
	return nil, false
}

func (activation) Parent() cel.Activation { return nil }

// eval is the expression's result for v at the instant at.
func (p *Program) eval(v *vars, at time.Time) (bool, error) {
	v.history.Now = at
	out, _, err := p.prg.Eval(activation{v})
	if err != nil {
		if strings.Contains(err.Error(), "cost limit") {
			return false, fmt.Errorf("%w: %v", ErrCost, err)
		}
		// An evaluation error (a missing custom field, a division by
		// zero) is "not a member", never a failed event: the data, not
		// the system, is at fault.
		return false, nil
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, errors.New("segment expression did not answer a bool")
	}
	return bool(b), nil
}

// Result is one evaluation: whether the contact matches now, and the next
// instant the answer changes by time alone (zero: never, as far as the
// data and the expression's constants say).
type Result struct {
	Match bool
	Flip  time.Time
}

// MaxFlipCandidates bounds the instants tried when looking for the next
// flip; past it the evaluation is repeated at the last one tried (a timer
// that only looks further).
const MaxFlipCandidates = 256

// FlipHorizon is how far ahead flips are looked for.
const FlipHorizon = 5 * 366 * 24 * time.Hour

// Evaluate is the expression's answer for in at now in the tenant's zone
// loc, with its next flip.
func (p *Program) Evaluate(in Input, now time.Time, loc *time.Location) (Result, error) {
	v := view(in, loc)
	match, err := p.eval(v, now)
	if err != nil || !p.timed {
		return Result{Match: match}, err
	}
	flip, err := p.nextFlip(v, now, match)
	return Result{Match: match, Flip: flip}, err
}

// Match is the expression's answer only: what previews and benchmarks of
// time-free evaluation use.
func (p *Program) Match(in Input, now time.Time, loc *time.Location) (bool, error) {
	return p.eval(view(in, loc), now)
}

// nextFlip tries, in time order, the instants at which the answer can
// change — each instant of the data plus each duration of the
// expression, each local midnight that many days (the expression's
// numbers) after an instant, the local midnights around the birthday less
// each duration, the next two midnights — and returns the first whose
// answer differs from match.
func (p *Program) nextFlip(v *vars, now time.Time, match bool) (time.Time, error) {
	loc := v.history.Loc
	midnight := func(t time.Time) time.Time {
		l := t.In(loc)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
	}
	limit := now.Add(FlipHorizon)
	var cands []time.Time
	add := func(t time.Time) {
		if t.After(now) && !t.After(limit) {
			cands = append(cands, t)
		}
	}
	base := append(v.instants(), now)
	for _, t := range base {
		add(t)
		for _, d := range p.durations {
			add(t.Add(d))
		}
		m := midnight(t)
		for _, n := range p.numbers {
			for _, k := range []int64{n, n + 1} {
				add(m.AddDate(0, 0, int(k)))
			}
		}
	}
	today := midnight(now)
	add(today.AddDate(0, 0, 1))
	add(today.AddDate(0, 0, 2))
	for _, b := range v.history.nextBirthdays() {
		add(b)
		add(b.AddDate(0, 0, 1))
		for _, d := range p.durations {
			add(b.Add(-d))
		}
	}
	slices.SortFunc(cands, func(a, b time.Time) int { return a.Compare(b) })
	cands = slices.CompactFunc(cands, func(a, b time.Time) bool { return a.Equal(b) })
	for i, c := range cands {
		if i == MaxFlipCandidates {
			return cands[i-1], nil // look again from there
		}
		got, err := p.eval(v, c)
		if err != nil {
			return time.Time{}, err
		}
		if got != match {
			return c, nil
		}
	}
	return time.Time{}, nil
}
