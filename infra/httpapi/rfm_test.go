package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// RFM through the API on both engines: the segment table (standard,
// refused, replaced with a re-map job, If-Match), a job started by POST
// and read at /v1/jobs/{id}, the latest distribution, the job listing,
// and every door closed to the other tenant.
func TestRFMAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		today := e.now().UTC()
		for i := range 12 {
			p := customers.Profile{ContactID: fmt.Sprintf("01KC%022d", i)}
			for d := range 1 + i%3 {
				p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: today.AddDate(0, 0, -i*9-d*30).Format(time.DateOnly), Orders: 1,
					Amounts: []customers.Amount{{Currency: "USD", Net: int64(1000 + 250*i)}}})
			}
			w, err := customers.ProfileDoc.Put(customers.ProfileKey("acme", p.ContactID), 0, &p)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.store.Put(ctx, w.Item, w.Cond); err != nil {
				t.Fatal(err)
			}
		}
		relay := relayOf(e, consumers(e, "jobs")...)
		e.a.do("GET", "/v1/rfm", nil).want(t, 404, nil)

		var table struct {
			customers.SegmentTable
			RemapJob string `json:"remap_job"`
		}
		e.a.do("GET", "/v1/rfm/segments", nil).want(t, 200, &table)
		if !table.Default || len(table.Rules) != 11 || table.Rules[0].Name != customers.SegmentChampions {
			t.Fatalf("standard table %+v", table)
		}
		// Refused, each naming the rule or the cells at fault.
		all := customers.ScoreRange{Min: 1, Max: 5}
		hole := []customers.SegmentRule{{Name: "Recent", R: customers.ScoreRange{Min: 3, Max: 5}, FM: all}}
		var p httpapi.ErrorModel
		e.a.do("PUT", "/v1/rfm/segments", map[string]any{"rules": hole}).want(t, 422, &p)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.rules" {
			t.Errorf("a hole: %+v", p)
		}
		bad := []map[string]any{{"name": "X", "r": map[string]int{"min": 0, "max": 5}, "fm": map[string]int{"min": 1, "max": 5}}}
		e.a.do("PUT", "/v1/rfm/segments", map[string]any{"rules": bad}).want(t, 422, &p)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.rules[0].r.min" {
			t.Errorf("out of range: %+v", p)
		}
		shadow := []customers.SegmentRule{{Name: "All", R: all, FM: all}, {Name: "Never", R: all, FM: all}}
		e.a.do("PUT", "/v1/rfm/segments", map[string]any{"rules": shadow}).want(t, 422, &p)
		if len(p.Errors) != 1 || p.Errors[0].Location != "body.rules[1]" {
			t.Errorf("shadowed: %+v", p)
		}

		// A job, by POST; its progress and result at /v1/jobs/{id}.
		var j httpapi.JobView
		r := e.a.do("POST", "/v1/rfm/jobs", nil).want(t, 202, &j)
		if r.Header.Get("Location") != "/v1/jobs/"+j.ID || j.Status != "running" || j.Kind != customers.JobRFM {
			t.Fatalf("started %+v, Location %q", j, r.Header.Get("Location"))
		}
		drain(t, relay)
		e.a.do("GET", "/v1/jobs/"+j.ID, nil).want(t, 200, &j)
		if j.Status != "done" || j.Done != 12 || j.Total != 12 || len(j.Result) == 0 {
			t.Fatalf("job %+v", j)
		}
		var rep customers.RFMReport
		e.a.do("GET", "/v1/rfm", nil).want(t, 200, &rep)
		if rep.JobID != j.ID || rep.Customers != 12 || len(rep.Monetary) != 1 || rep.Monetary[0].Currency != "USD" || len(rep.Grid) != 5 {
			t.Errorf("report %+v", rep)
		}

		// A new table, and its re-map job.
		two := []customers.SegmentRule{{Name: "Recent", R: customers.ScoreRange{Min: 3, Max: 5}, FM: all}, {Name: "Others", R: all, FM: all}}
		r = e.a.do("PUT", "/v1/rfm/segments", map[string]any{"rules": two}).want(t, 200, &table)
		if table.Default || table.Version != 1 || table.RemapJob == "" || r.Header.Get("ETag") != `"1"` {
			t.Fatalf("saved %+v, ETag %s", table, r.Header.Get("ETag"))
		}
		e.a.do("PUT", "/v1/rfm/segments", map[string]any{"rules": two}, "If-Match", `"7"`).want(t, 412, nil)
		drain(t, relay)
		e.a.do("GET", "/v1/rfm", nil).want(t, 200, &rep)
		if len(rep.Segments) != 2 || rep.Segments[0].Customers+rep.Segments[1].Customers != 12 || rep.Kind != customers.JobRFMRemap {
			t.Errorf("re-mapped %+v", rep.Segments)
		}
		var list struct {
			Items      []httpapi.JobView `json:"items"`
			NextCursor string            `json:"next_cursor"`
		}
		e.a.do("GET", "/v1/jobs?kind=rfm.remap", nil).want(t, 200, &list)
		if len(list.Items) != 1 || list.Items[0].ID != table.RemapJob || list.Items[0].Status != "done" {
			t.Errorf("remap jobs %+v", list)
		}
		e.a.do("GET", "/v1/jobs?limit=1", nil).want(t, 200, &list)
		if len(list.Items) != 1 || list.NextCursor == "" {
			t.Fatalf("first page %+v", list)
		}
		cursor := list.NextCursor
		e.a.do("GET", "/v1/jobs?limit=5&cursor="+cursor, nil).want(t, 200, &list)
		if len(list.Items) != 1 || list.Items[0].ID != j.ID {
			t.Errorf("second page %+v", list)
		}
		e.a.do("GET", "/v1/jobs?cursor=nonsense", nil).want(t, 422, nil)

		// The other tenant: no job, no report, its own table, nothing listed
		// even with acme's cursor.
		e.b.do("GET", "/v1/jobs/"+j.ID, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/jobs/"+table.RemapJob, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/rfm", nil).want(t, 404, nil)
		e.b.do("GET", "/v1/rfm/segments", nil).want(t, 200, &table)
		if !table.Default {
			t.Errorf("globex sees acme's table %+v", table)
		}
		e.b.do("GET", "/v1/jobs?cursor="+cursor, nil).want(t, 200, &list)
		if len(list.Items) != 0 {
			t.Errorf("globex lists %+v", list.Items)
		}
		if p, _, _ := customers.GetProfile(ctx, e.store, "globex", fmt.Sprintf("01KC%022d", 0)); p.RFM != nil {
			t.Errorf("globex scored %+v", p.RFM)
		}
	})
}
