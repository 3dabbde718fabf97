package backtest

import (
	"errors"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
)

// Any request either names its field at fault or gives a range that is
// ordered, starts in the past and is within bounds; nothing panics.
func FuzzParams(f *testing.F) {
	for _, seed := range []struct {
		from, to, outcome string
		window            int
	}{
		{"2026-10-01", "2026-10-31", "", 0},
		{"2026-10-01T00:00:00Z", "2026-10-01T00:00:01.5+02:00", "won_deal", 365},
		{"2026-10-31", "2026-10-01", "either", 30},
		{"", "", "churn", -1},
		{"2026-02-30", "yesterday", "first_order", 366},
		{"0001-01-01", "9999-12-31", "", 1},
	} {
		f.Add(seed.from, seed.to, seed.outcome, seed.window)
	}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	s := &Service{now: func() time.Time { return now }}
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, from, to, outcome string, window int) {
		p, err := s.params(Request{From: from, To: to, WindowDays: window, Outcome: Outcome(outcome)}, rome)
		if err != nil {
			ce, ok := errors.AsType[*core.Error](err)
			if !ok || ce.Code != core.CodeInvalid || len(ce.Fields) == 0 {
				t.Fatalf("error %v: want an invalid request naming its fields", err)
			}
			for _, fe := range ce.Fields {
				switch fe.Path {
				case "from", "to", "window_days", "outcome":
				default:
					t.Fatalf("field %q at fault is not the request's", fe.Path)
				}
			}
			return
		}
		if !p.From.Before(p.To) || !p.From.Before(now) || p.To.Sub(p.From) > MaxRangeDays*24*time.Hour ||
			p.WindowDays < 1 || p.WindowDays > MaxWindowDays || p.Outcome == "" {
			t.Fatalf("accepted %+v", p)
		}
	})
}

// A date is a day in the tenant's time zone; a date as the end includes it.
func TestParamsDates(t *testing.T) {
	rome, _ := time.LoadLocation("Europe/Rome")
	s := &Service{now: func() time.Time { return time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) }}
	p, err := s.params(Request{From: "2026-10-01", To: "2026-10-31"}, rome)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 9, 30, 22, 0, 0, 0, time.UTC); !p.From.Equal(want) {
		t.Errorf("from %s, want %s (midnight in Rome, summer time)", p.From, want)
	}
	if want := time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC); !p.To.Equal(want) {
		t.Errorf("to %s, want %s (the end of 31 October in Rome, winter time)", p.To, want)
	}
	if p.WindowDays != DefaultWindowDays || p.Outcome != OutcomeEither {
		t.Errorf("defaults %+v", p)
	}
}
