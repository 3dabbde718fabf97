package httpapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/timers"
)

// TestTimersAPI: an admin schedules an emit timer, reads it and the stats
// (pending, overdue once due); the drain fires it and the stats show its
// lateness; a second timer is cancelled, and cancelling it again is a
// conflict; another tenant cannot see the timer. On both engines.
func TestTimersAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		due := e.now().Add(time.Hour).UTC().Truncate(time.Millisecond)
		res := e.a.do("POST", "/v1/timers", map[string]any{"kind": "emit", "subject": "c1", "due": due, "payload": map[string]any{"step": 2}})
		if res.Status != 201 {
			t.Fatalf("schedule: %d %s", res.Status, res.Body)
		}
		var tm core.Timer
		if err := json.Unmarshal(res.Body, &tm); err != nil {
			t.Fatal(err)
		}
		if tm.State != core.TimerPending || !tm.Due.Equal(due) || res.Header.Get("Location") != "/v1/timers/"+tm.ID {
			t.Fatalf("scheduled: %+v %v", tm, res.Header)
		}
		if res := e.a.do("POST", "/v1/timers", map[string]any{"kind": "nope", "due": due}); res.Status != 422 {
			t.Errorf("unknown kind: %d %s", res.Status, res.Body)
		}
		if res := e.b.do("GET", "/v1/timers/"+tm.ID, nil); res.Status != 404 {
			t.Errorf("another tenant's timer: %d", res.Status)
		}
		e.advance(time.Hour + time.Minute)
		st := stats(t, e)
		// Every registered kind is listed; only emit has a timer.
		if k := kindOf(t, st, "emit"); k.Pending != 1 || k.OverdueSeconds < 59 || pendingIn(st) != 1 {
			t.Fatalf("stats while overdue: %+v", st)
		}
		if _, err := e.app.Timers.Drain(context.Background(), 0, e.app.Timers.FireAll); err != nil {
			t.Fatal(err)
		}
		var got core.Timer
		res = e.a.do("GET", "/v1/timers/"+tm.ID, nil)
		if err := json.Unmarshal(res.Body, &got); err != nil || got.State != core.TimerFired {
			t.Fatalf("after the drain: %d %s", res.Status, res.Body)
		}
		st = stats(t, e)
		if pendingIn(st) != 0 || st.Fired != 1 || st.LatenessP99MS < 59_000 {
			t.Fatalf("stats after firing: %+v", st)
		}
		var other core.Timer
		res = e.a.do("POST", "/v1/timers", map[string]any{"kind": "emit", "due": e.now().Add(time.Hour)})
		if res.Status != 201 || json.Unmarshal(res.Body, &other) != nil {
			t.Fatalf("schedule another: %d %s", res.Status, res.Body)
		}
		if res := e.a.do("DELETE", "/v1/timers/"+other.ID, nil); res.Status != 200 {
			t.Fatalf("cancel: %d %s", res.Status, res.Body)
		}
		if res := e.a.do("DELETE", "/v1/timers/"+other.ID, nil); res.Status != 409 {
			t.Fatalf("cancel twice: %d %s", res.Status, res.Body)
		}
	})
}

// kindOf is the stats of one kind; every registered kind is listed.
func kindOf(t *testing.T, st timers.Overview, kind string) timers.KindOverview {
	t.Helper()
	for _, k := range st.Kinds {
		if k.Kind == kind {
			return k
		}
	}
	t.Fatalf("no kind %s in %+v", kind, st)
	return timers.KindOverview{}
}

// pendingIn counts the pending timers of every kind.
func pendingIn(st timers.Overview) int {
	n := 0
	for _, k := range st.Kinds {
		n += k.Pending
	}
	return n
}

func stats(t *testing.T, e *env) timers.Overview {
	t.Helper()
	res := e.a.do("GET", "/v1/timers/stats", nil)
	var st timers.Overview
	if res.Status != 200 || json.Unmarshal(res.Body, &st) != nil {
		t.Fatalf("stats: %d %s", res.Status, res.Body)
	}
	return st
}
