package httpapi_test

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/sales"
)

var salesPipeline = map[string]any{"name": "New business", "stages": []map[string]any{
	{"id": "lead", "name": "Lead", "probability": 10},
	{"id": "qualified", "name": "Qualified", "probability": 30},
	{"id": "proposal", "name": "Proposal", "probability": 60},
	{"id": "won", "name": "Won", "probability": 100, "kind": "won"},
	{"id": "lost", "name": "Lost", "probability": 0, "kind": "lost"},
}}

// Deals move through a pipeline's stages; every move is recorded, and the
// forecast, conversion, time per stage and win rate match figures computed
// by hand.
func TestDealsAndReports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		var p core.Pipeline
		e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
		var u1, u2 core.User
		e.a.do("POST", "/v1/users", map[string]any{"name": "One", "email": "one@example.com"}).want(t, 201, &u1)
		e.a.do("POST", "/v1/users", map[string]any{"name": "Two", "email": "two@example.com"}).want(t, 201, &u2)
		deal := func(fields map[string]any) core.Deal {
			t.Helper()
			fields["pipeline_id"] = p.ID
			var d core.Deal
			e.a.do("POST", "/v1/deals", fields).want(t, 201, &d)
			return d
		}
		move := func(d core.Deal, patch string) core.Deal {
			t.Helper()
			var out core.Deal
			e.a.do("PATCH", "/v1/deals/"+d.ID, patch, "Content-Type", "application/merge-patch+json").want(t, 200, &out)
			return out
		}
		d1 := deal(map[string]any{"name": "D1", "stage": "lead", "amount_minor": 10000, "currency": "EUR", "expected_close": "2026-12-15", "owner_id": u1.ID})
		d2 := deal(map[string]any{"name": "D2", "stage": "proposal", "currency": "EUR", "expected_close": "2027-01-10", "owner_id": u2.ID,
			"line_items": []map[string]any{
				{"product": "Engine", "quantity": 2, "unit_price_minor": 3000, "discount_minor": 500, "currency": "EUR"},
				{"product": "Manual", "quantity": 1, "unit_price_minor": 1000, "currency": "EUR"}}})
		if d2.AmountMinor != 6500 {
			t.Errorf("D2's amount %d, want the line items' 2×3000−500+1000 = 6500", d2.AmountMinor)
		}
		d3 := deal(map[string]any{"name": "D3", "stage": "qualified", "amount_minor": 20000, "currency": "EUR", "probability": 50, "expected_close": "2026-12-20"})
		deal(map[string]any{"name": "D4", "stage": "lead", "amount_minor": 7777, "currency": "USD"})

		// Activities on a deal.
		e.a.do("POST", "/v1/activities", map[string]any{"type": "call", "deal_id": d2.ID, "owner_id": u2.ID}).want(t, 201, nil)
		var acts struct{ Items []core.Activity }
		e.a.do("GET", "/v1/activities?deal_id="+d2.ID, nil).want(t, 200, &acts)
		if len(acts.Items) != 1 || acts.Items[0].DealID != d2.ID {
			t.Errorf("the deal's activities %+v", acts.Items)
		}
		e.b.do("POST", "/v1/activities", map[string]any{"type": "note", "deal_id": d2.ID}).want(t, 422, nil)

		day := 24 * time.Hour
		e.advance(2 * day)
		d1 = move(d1, `{"stage":"qualified"}`)
		e.advance(2 * day)
		d3 = move(d3, `{"stage":"lost","close_date":"2026-11-30","lost_reason":"went with a rival"}`)
		e.advance(day)
		d1 = move(d1, `{"stage":"proposal"}`)
		e.advance(day)
		d1 = move(d1, `{"stage":"won","close_date":"2026-12-01"}`)

		if d1.Status != "won" || d3.Status != "lost" || len(d1.History) != 4 {
			t.Fatalf("D1 %s with %d moves, D3 %s", d1.Status, len(d1.History), d3.Status)
		}
		var moves []string
		for _, c := range d1.History {
			moves = append(moves, c.From+">"+c.To)
		}
		if !slices.Equal(moves, []string{">lead", "lead>qualified", "qualified>proposal", "proposal>won"}) ||
			d1.History[1].SecondsInFrom != 2*86400 || d1.History[2].SecondsInFrom != 3*86400 || d1.History[3].SecondsInFrom != 86400 {
			t.Errorf("D1's history %+v", d1.History)
		}

		// Open deals only: D2 6500×60% = 3900, D3 20000×50% = 10000 (its
		// override)… but D3 is lost, so it is out; D1 is won, out too.
		var fc struct{ Currencies []sales.Forecast }
		e.a.do("GET", "/v1/reports/forecast", nil).want(t, 200, &fc)
		tot := money.TotalOf
		want := []sales.Forecast{
			{Currency: "EUR", Total: tot(3900), Weighted: "39.00", ByMonth: map[string]money.Total{"2027-01": tot(3900)},
				ByOwner: map[string]money.Total{u2.ID: tot(3900)}, ByPipeline: map[string]money.Total{p.ID: tot(3900)}, Deals: 1},
			{Currency: "USD", Total: tot(778), Weighted: "7.78", ByMonth: map[string]money.Total{"none": tot(778)},
				ByOwner: map[string]money.Total{"none": tot(778)}, ByPipeline: map[string]money.Total{p.ID: tot(778)}, Deals: 1}, // 7777 × 10% = 777.7
		}
		if diff := cmp.Diff(want, fc.Currencies); diff != "" {
			t.Errorf("forecast (-want +got):\n%s", diff)
		}

		var rep sales.PipelineReport
		e.a.do("GET", "/v1/reports/pipelines/"+p.ID, nil).want(t, 200, &rep)
		wantRep := sales.PipelineReport{PipelineID: p.ID, Won: 1, Lost: 1, Open: 2, WinRate: 0.5, Stages: []sales.StageReport{
			{Stage: "lead", Entered: 2, MovedOn: 1, Conversion: 0.5, AvgDays: 2},        // D1 and D4; D1 moved on after 2 days
			{Stage: "qualified", Entered: 2, MovedOn: 1, Conversion: 0.5, AvgDays: 3.5}, // D1 (3 days) on, D3 (4 days) lost
			{Stage: "proposal", Entered: 2, MovedOn: 1, Conversion: 0.5, AvgDays: 1},    // D1 (1 day) won, D2 still there
			{Stage: "won", Entered: 1},
			{Stage: "lost", Entered: 1},
		}}
		if diff := cmp.Diff(wantRep, rep); diff != "" {
			t.Errorf("pipeline report (-want +got):\n%s", diff)
		}

		kinds := map[events.Type]int{}
		for _, ev := range outbox(t, e.store, "acme") {
			kinds[ev.DetailType]++
		}
		for typ, n := range map[events.Type]int{events.DealCreated: 4, events.DealUpdated: 4, events.DealStageChanged: 4, events.DealWon: 1,
			events.DealLost: 1, events.PipelineCreated: 1} {
			if kinds[typ] != n {
				t.Errorf("%d %s events, want %d", kinds[typ], typ, n)
			}
		}

		// Another tenant reaches none of it.
		e.b.do("GET", "/v1/deals/"+d1.ID, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/pipelines/"+p.ID, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/reports/pipelines/"+p.ID, nil).want(t, 404, nil)
		e.b.do("PATCH", "/v1/deals/"+d1.ID, `{"stage":"lost"}`, "Content-Type", "application/merge-patch+json").want(t, 404, nil)
		var theirs struct{ Currencies []sales.Forecast }
		e.b.do("GET", "/v1/reports/forecast", nil).want(t, 200, &theirs)
		if len(theirs.Currencies) != 0 {
			t.Errorf("globex's forecast %+v", theirs.Currencies)
		}
	})
}

func TestDealBadInput(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	var p core.Pipeline
	e.a.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &p)
	var theirs core.Contact
	e.b.do("POST", "/v1/contacts", map[string]any{"first_name": "Gus"}).want(t, 201, &theirs)
	var theirPipeline core.Pipeline
	e.b.do("POST", "/v1/pipelines", salesPipeline).want(t, 201, &theirPipeline)
	base := `"name":"D","currency":"EUR","pipeline_id":"` + p.ID + `"`
	for _, tc := range []struct {
		body, at string
	}{
		{`{` + base + `,"stage":"negotiation","amount_minor":1}`, "body.stage"},
		{`{` + base + `,"stage":"lead","amount_minor":-5}`, "body.amount_minor"},
		{`{` + base + `,"stage":"lead","line_items":[{"product":"X","quantity":1,"unit_price_minor":100,"currency":"USD"}]}`, "body.line_items[0].currency"},
		{`{` + base + `,"stage":"lead","amount_minor":1,"contact_id":"` + theirs.ID + `"}`, "body.contact_id"},
		{`{` + base + `,"stage":"won","amount_minor":1}`, "body.close_date"},
		{`{` + base + `,"stage":"lost","amount_minor":1,"close_date":"2026-11-01"}`, "body.lost_reason"},
		{`{` + base + `,"stage":"lead","amount_minor":1,"line_items":[{"product":"X","quantity":1,"unit_price_minor":100,"currency":"EUR"}]}`, "body.amount_minor"},
		{`{"name":"D","currency":"EUR","stage":"lead","amount_minor":1,"pipeline_id":"` + theirPipeline.ID + `"}`, "body.pipeline_id"},
		{`{` + base + `,"stage":"lead","amount_minor":1,"currency":"euro"}`, "body.currency"},
	} {
		r := e.a.do("POST", "/v1/deals", tc.body)
		if r.Status != 422 {
			t.Errorf("%s: %d %s", tc.body, r.Status, r.Body)
			continue
		}
		if p := r.problem(t); !slices.Contains(p.locations(), tc.at) {
			t.Errorf("%s: problems at %v, missing %s", tc.body, p.locations(), tc.at)
		}
	}
	for _, tc := range []struct {
		body, at string
	}{
		{`{"name":"P","stages":[{"id":"a","name":"A","probability":10},{"id":"b","name":"B","probability":100,"kind":"won"}]}`, "body.stages"},
		{`{"name":"P","stages":[{"id":"a","name":"A","probability":10},{"id":"a","name":"B","probability":100,"kind":"won"},{"id":"c","name":"C","probability":0,"kind":"lost"}]}`, "body.stages[1].id"},
		{`{"name":"P","stages":[{"id":"a","name":"A","probability":10},{"id":"b","name":"B","probability":90,"kind":"won"},{"id":"c","name":"C","probability":0,"kind":"lost"}]}`, "body.stages[1].probability"},
	} {
		p := e.a.do("POST", "/v1/pipelines", tc.body).want(t, 422, nil).problem(t)
		if !slices.Contains(p.locations(), tc.at) {
			t.Errorf("%s: problems at %v, missing %s", tc.body, p.locations(), tc.at)
		}
	}
}
