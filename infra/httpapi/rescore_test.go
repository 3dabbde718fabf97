package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/scoring"
)

// seedContacts makes n contacts through the batch endpoint.
func seedContacts(t *testing.T, c *client, n int) {
	t.Helper()
	for start := 0; start < n; start += 100 {
		var batch []map[string]any
		for i := start; i < min(n, start+100); i++ {
			batch = append(batch, map[string]any{"first_name": fmt.Sprint("C", i), "emails": []map[string]any{{"address": fmt.Sprintf("c%d@example.com", i)}}})
		}
		c.do("POST", "/v1/contacts/batch", map[string]any{"items": batch}).want(t, 200, nil)
	}
}

// runJob delivers the job's steps and returns how it ended.
func runJob(t *testing.T, c *client, relay *events.Relay, id string) scoring.Job {
	t.Helper()
	drain(t, relay)
	var j scoring.Job
	c.do("GET", "/v1/jobs/"+id, nil).want(t, 200, &j)
	return j
}

// Re-scoring a tenant runs in the background through the batch contract —
// in steps of a few batches, each an event the consumers run, as the
// worker does in AWS — with its progress visible, and scores every contact.
func TestRescoreJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		seedContacts(t, e.a, 250) // three steps of two batches of 50
		relay := scoringRelay(e)
		drain(t, relay) // the contacts' own scores
		var j scoring.Job
		r := e.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
		if r.Header.Get("Location") != "/v1/jobs/"+j.ID || j.Status != "running" {
			t.Fatalf("started %+v, Location %q", j, r.Header.Get("Location"))
		}
		if j.Status != "running" {
			t.Fatalf("started %+v", j)
		}
		// A new weight changes every score.
		w := map[string]any{"email": 40, "phone": 10, "mql": 20, "sql": 30, "customer": 25, "enterprise": 30, "mid_size": 15,
			"meeting": 10, "call": 6, "email_activity": 3, "other_activity": 2, "engagement_cap": 30, "half_life_days": 30}
		e.a.do("PATCH", "/v1/tenant", map[string]any{"scoring_weights": w}).want(t, 200, nil)
		j = runJob(t, e.a, relay, j.ID)
		if j.Status != "done" || j.Done != 250 || j.Changed != 250 || j.ByPlugin != 0 {
			t.Fatalf("job %+v", j)
		}
		// Again: nothing changes, nothing is written.
		e.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
		if j = runJob(t, e.a, relay, j.ID); j.Status != "done" || j.Done != 250 || j.Changed != 0 {
			t.Errorf("second run %+v", j)
		}
		e.b.do("GET", "/v1/jobs/"+j.ID, nil).want(t, 404, nil)
	})
}

// With a score plugin, a re-score is a plugin call per batch.
func TestRescoreJobWithAPlugin(t *testing.T) {
	pe := newPluginEnv(t, "embedded")
	seedContacts(t, pe.a, 250)
	relay := scoringRelay(pe.env)
	drain(t, relay) // their own scores, by the built-in: no plugin yet
	upload(pe.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
	pe.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
	var j scoring.Job
	pe.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
	if j = runJob(t, pe.a, relay, j.ID); j.Status != "done" || j.Done != 250 || j.ByPlugin != 250 {
		t.Fatalf("job %+v", j)
	}
	var stats struct{ Calls, Records int64 }
	pe.a.do("GET", "/v1/plugins/leads/versions/1/stats", nil).want(t, 200, &stats)
	if stats.Calls != 5 || stats.Records != 250 {
		t.Errorf("the job took %d calls for %d records, want 5 calls (batches of 50)", stats.Calls, stats.Records)
	}
}
