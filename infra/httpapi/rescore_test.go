package httpapi_test

import (
	"fmt"
	"testing"
	"time"

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

// waitJob polls a job until it ends.
func waitJob(t *testing.T, c *client, id string) scoring.Job {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var j scoring.Job
		c.do("GET", "/v1/jobs/"+id, nil).want(t, 200, &j)
		if j.Status != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still running: %+v", id, j)
		}
		time.Sleep(20 * time.Millisecond) // polling a job in another goroutine, bounded by the deadline
	}
}

// Re-scoring a tenant runs in the background through the batch contract,
// with its progress visible, and scores every contact.
func TestRescoreJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		seedContacts(t, e.a, 250)
		var j scoring.Job
		r := e.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
		if r.Header.Get("Location") != "/v1/jobs/"+j.ID || j.Status != "running" {
			t.Fatalf("started %+v, Location %q", j, r.Header.Get("Location"))
		}
		j = waitJob(t, e.a, j.ID)
		if j.Status != "done" || j.Done != 250 || j.Changed != 250 || j.ByPlugin != 0 {
			t.Fatalf("job %+v", j)
		}
		// Again: nothing changes, nothing is written.
		e.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
		if j = waitJob(t, e.a, j.ID); j.Done != 250 || j.Changed != 0 {
			t.Errorf("second run %+v", j)
		}
		e.b.do("GET", "/v1/jobs/"+j.ID, nil).want(t, 404, nil)
	})
}

// With a score plugin, a re-score is a plugin call per batch.
func TestRescoreJobWithAPlugin(t *testing.T) {
	pe := newPluginEnv(t, "embedded")
	seedContacts(t, pe.a, 250)
	upload(pe.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, nil)
	pe.a.do("POST", "/v1/plugins/leads/versions/1/activate", nil).want(t, 200, nil)
	var j scoring.Job
	pe.a.do("POST", "/v1/scoring/rescore", nil).want(t, 202, &j)
	if j = waitJob(t, pe.a, j.ID); j.Status != "done" || j.Done != 250 || j.ByPlugin != 250 {
		t.Fatalf("job %+v", j)
	}
	var stats struct{ Calls, Records int64 }
	pe.a.do("GET", "/v1/plugins/leads/versions/1/stats", nil).want(t, 200, &stats)
	if stats.Calls != 2 || stats.Records != 250 {
		t.Errorf("250 contacts took %d calls for %d records, want 2 calls (batches of 200)", stats.Calls, stats.Records)
	}
}
