package httpapi_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/store"
)

// emitFor records an event as its producer would — a won deal, an order:
// areas not built on this branch — on the contact's timeline.
func emitFor(t *testing.T, e *env, tenant string, typ events.Type, entity events.Entity, contactID string) {
	t.Helper()
	ev := events.New(context.Background(), tenant, typ, e.now(), entity)
	ev.Timeline = &events.Entity{Type: "contact", ID: contactID}
	w, err := events.OutboxWrite(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Transact(context.Background(), []store.Write{w}); err != nil {
		t.Fatal(err)
	}
}

// The example score plugin (leadscore) backtested beside the built-in over
// a recorded range, on both engines, end to end over HTTP. Activities are
// dated an hour ahead, so that their weight is exactly 1 for both scorers.
//
//	contact  fields                     leadscore          built-in        outcome
//	Ada      e-mail, mql, decision-maker 10+10+20 = 40     15+20 = 35      deal won
//	Bob      e-mail, phone               15                25              —
//	 + a meeting                         15+10 = 25        25+10 = 35      first order
//	 + the order (a re-score, after its outcome: not ranked) 25+15 = 40  35
//	Cy       (tagged boom)               0                 0               —
//	Di       phone, sql                  5+15 = 20         10+30 = 40      —
//	Ed       e-mail                      10                15              —
//
// Agreement over the 7 decisions: |Δ| 5, 10, 10, 5, 0, 20, 5 → within 5
// points 4/7, exact 1/7. Ranking (score before the outcome): leadscore
// puts both converters (40, 25) above every other (0, 20, 10): AUC 1, and
// its top contact (1 of 5) converted: lift (1/1)/(2/5) = 2.5. The
// built-in's 35s beat 0 and 15 but not Di's 40: AUC 4/6, and its top
// contact, Di, did not convert: lift 0.
func TestBacktestExampleScorePlugin(t *testing.T) {
	for name := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newPluginEnv(t, name)
			from := e.now().Add(-time.Second).UTC()
			var lead, fail struct {
				Version int `json:"version"`
			}
			upload(e.a, "leads", "score", module(t, "plugins", "leadscore.wasm"), "").want(t, 201, &lead)
			upload(e.a, "fails", "score", module(t, "plugins", "failscore.wasm"), "").want(t, 201, &fail)

			mk := func(c *client, body map[string]any) core.Contact {
				var out core.Contact
				c.do("POST", "/v1/contacts", body).want(t, 201, &out)
				return out
			}
			email := func(a string) []map[string]any { return []map[string]any{{"address": a}} }
			ada := mk(e.a, map[string]any{"first_name": "Ada", "emails": email("ada@example.com"), "lifecycle_stage": "mql", "tags": []string{"decision-maker"}})
			bob := mk(e.a, map[string]any{"first_name": "Bob", "emails": email("bob@example.com"), "phones": []map[string]any{{"number": "+12025550123"}}})
			mk(e.a, map[string]any{"first_name": "Cy", "tags": []string{"boom"}})
			mk(e.a, map[string]any{"first_name": "Di", "phones": []map[string]any{{"number": "+12025550124"}}, "lifecycle_stage": "sql"})
			mk(e.a, map[string]any{"first_name": "Ed", "emails": email("ed@example.com")})
			mk(e.b, map[string]any{"first_name": "Globex's", "emails": email("g@example.com"), "tags": []string{"decision-maker"}})
			e.a.do("POST", "/v1/activities", map[string]any{"type": "meeting", "contact_id": bob.ID,
				"at": e.now().Add(time.Hour).UTC().Format(time.RFC3339)}).want(t, 201, nil)

			order := commerce.Order{Meta: core.Meta{ID: core.NewID(e.now()), Version: 1}, OrderFields: commerce.OrderFields{ExternalID: "o-1",
				ContactID: bob.ID, Currency: "USD", PlacedAt: e.now().UTC(), Status: commerce.OrderPlaced,
				Lines: []commerce.Line{{Description: "glasses", Quantity: 1, UnitPrice: 9900}}}, Total: 9900}
			data, _ := json.Marshal(order)
			emitFor(t, e.env, "acme", events.OrderPlaced, events.Entity{Type: "order", ID: order.ID, Data: data}, bob.ID)
			deal, _ := json.Marshal(map[string]any{"id": core.NewID(e.now()), "contact_id": ada.ID, "name": "Ada's deal", "status": "won"})
			emitFor(t, e.env, "acme", events.DealWon, events.Entity{Type: "deal", ID: "deal-1", Data: deal}, ada.ID)
			to := e.now().Add(time.Second).UTC()
			e.advance(time.Minute) // every event recorded has settled

			// Bad ranges name their field; another tenant's version is not found.
			body := map[string]any{"from": from.Format(time.RFC3339Nano), "to": to.Format(time.RFC3339Nano)}
			var p struct {
				Errors []struct {
					Location string `json:"location"`
				} `json:"errors"`
			}
			e.a.do("POST", "/v1/plugins/leads/versions/1/backtest", map[string]any{"from": "last week", "to": body["to"]}).want(t, 422, &p)
			if len(p.Errors) != 1 || p.Errors[0].Location != "body.from" {
				t.Errorf("bad from: %+v", p)
			}
			e.a.do("POST", "/v1/plugins/leads/versions/1/backtest", map[string]any{"from": body["to"], "to": body["from"]}).want(t, 422, &p)
			if len(p.Errors) != 1 || p.Errors[0].Location != "body.to" {
				t.Errorf("to before from: %+v", p)
			}
			e.a.do("POST", "/v1/plugins/leads/versions/1/backtest", map[string]any{"from": body["from"], "to": body["to"], "outcome": "churn"}).want(t, 422, nil)
			e.b.do("POST", "/v1/plugins/leads/versions/1/backtest", body).want(t, 404, nil)
			e.a.do("POST", "/v1/plugins/leads/versions/9/backtest", body).want(t, 404, nil)

			relay := relayOf(e.env, consumers(e.env, "jobs")...)
			run := func(plugin string) backtest.Backtest {
				t.Helper()
				var started backtest.Backtest
				res := e.a.do("POST", "/v1/plugins/"+plugin+"/versions/1/backtest", body).want(t, 202, &started)
				if res.Header.Get("Location") != "/v1/jobs/"+started.ID || started.Status != "running" {
					t.Fatalf("started %+v at %s", started, res.Header.Get("Location"))
				}
				drain(t, relay)
				var b backtest.Backtest
				e.a.do("GET", "/v1/plugins/"+plugin+"/backtests/"+started.ID, nil).want(t, 200, &b)
				e.b.do("GET", "/v1/plugins/"+plugin+"/backtests/"+started.ID, nil).want(t, 404, nil)
				if b.Status != "done" || b.Result == nil || b.Result.Ranking == nil || b.Done == 0 || b.Total != b.Done {
					t.Fatalf("backtest %+v", b)
				}
				return b
			}

			r := *run("leads").Result
			near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
			if r.Decisions != 7 || !near(r.Agreement.Within5, 4.0/7) || !near(r.Agreement.Exact, 1.0/7) {
				t.Errorf("decisions %d, agreement %+v; want 7, 4/7 and 1/7", r.Decisions, r.Agreement)
			}
			if r.Ranking.Contacts != 5 || r.Ranking.Positives != 2 {
				t.Errorf("ranking %+v, want 2 of 5 positive (and no globex contact)", r.Ranking)
			}
			c, b := r.Candidate, r.Baseline
			if c.DecidedBy != "plugin" || c.Plugin == nil || c.Plugin.Name != "leads" || b.DecidedBy != "builtin" || b.Plugin != nil {
				t.Errorf("deciders %+v / %+v", c, b)
			}
			if c.AUC == nil || !near(*c.AUC, 1) || c.TopDecileLift == nil || !near(*c.TopDecileLift, 2.5) {
				t.Errorf("leadscore AUC %v lift %v, want 1 and 2.5", deref(c.AUC), deref(c.TopDecileLift))
			}
			if b.AUC == nil || !near(*b.AUC, 4.0/6) || b.TopDecileLift == nil || !near(*b.TopDecileLift, 0) {
				t.Errorf("built-in AUC %v lift %v, want 2/3 and 0", deref(b.AUC), deref(b.TopDecileLift))
			}
			// leadscore 40, 15, 25, 40, 0, 20, 10; built-in 35, 25, 35, 35, 0, 40, 15.
			if c.Histogram != [10]int{0: 1, 1: 2, 2: 2, 4: 2} || b.Histogram != [10]int{0: 1, 1: 1, 2: 1, 3: 3, 4: 1} {
				t.Errorf("histograms %v / %v", c.Histogram, b.Histogram)
			}
			if !near(c.Mean, 150.0/7) || !near(b.Mean, 185.0/7) || c.Failures.Calls != 0 {
				t.Errorf("means %v / %v, failures %+v", c.Mean, b.Mean, c.Failures)
			}
			if len(r.Notes) == 0 || !strings.Contains(r.Notes[len(r.Notes)-1], "outcomes were read until") {
				t.Errorf("notes %q: to + 30 days is still to come", r.Notes)
			}

			// failscore loops on Cy (tagged boom) until its fuel runs out: its
			// batch falls to the built-in and counts, and the job still ends.
			f := run("fails").Result.Candidate.Failures
			if f.Calls == 0 || f.Records == 0 || f.Classes["out_of_fuel"] != f.Calls {
				t.Errorf("failscore's failures %+v", f)
			}
			var v struct {
				Status string `json:"status"`
			}
			e.a.do("GET", "/v1/plugins/fails/versions/1", nil).want(t, 200, &v)
			if v.Status == "disabled" {
				t.Error("a backtest disabled the version it replayed")
			}
		})
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}
