package httpapi_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
)

// clvProfiles writes n customers' profiles for tenant straight into the
// store (as the summary consumer would keep them): first purchases over
// the two years before today, transaction days a Poisson process at each
// one's own rate until a drop-out after a purchase, spend in EUR around
// each one's own mean.
func clvProfiles(t *testing.T, st store.Store, tenant string, seed uint64, n int) []string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	today := time.Now().UTC().Truncate(24 * time.Hour)
	ids := make([]string, n)
	for i := range ids {
		p := customers.Profile{ContactID: core.NewID(time.Now())}
		day := today.AddDate(0, 0, -rng.IntN(730))
		rate, drop, mean := 0.005+0.05*rng.Float64(), 0.05+0.4*rng.Float64(), 1000+9000*rng.Float64()
		for k := 0; !day.After(today); k++ {
			p.Purchases.Days = append(p.Purchases.Days, customers.Day{Date: day.Format(time.DateOnly), Orders: 1,
				Amounts: []customers.Amount{{Currency: "EUR", Net: int64(mean * (0.5 + rng.Float64()))}}})
			if k > 0 && rng.Float64() < drop {
				break
			}
			day = day.AddDate(0, 0, int(math.Ceil(rng.ExpFloat64()/rate)))
		}
		w, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, p.ContactID), 0, &p)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), w.Item, w.Cond); err != nil {
			t.Fatal(err)
		}
		ids[i] = p.ContactID
	}
	return ids
}

// A lifetime value fit through the API on both engines: started with the
// defaults, run in job steps, kept by id and as the latest, every
// customer's profile valued; the other tenant's profiles are never read
// (its own fit has too little data and fails with the problem) nor
// written, and its fits and acme's are invisible to each other.
func TestCLVFits(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		acme := clvProfiles(t, e.store, "acme", 1, 300)
		globex := clvProfiles(t, e.store, "globex", 2, 40)
		relay := relayOf(e, consumers(e, "jobs")...)

		e.a.do("GET", "/v1/clv/fits/latest", nil).want(t, 404, nil)
		p := e.a.do("POST", "/v1/clv/fits", map[string]any{"unit": "fortnight", "horizon_days": 0}).want(t, 422, nil).problem(t)
		if ls := p.locations(); len(ls) != 2 {
			t.Errorf("bad params: %v", ls)
		}
		var j jobs.Job
		r := e.a.do("POST", "/v1/clv/fits", nil).want(t, 202, &j)
		if r.Header.Get("Location") != "/v1/jobs/"+j.ID || j.Kind != customers.JobCLVFit || j.Status != jobs.Running {
			t.Fatalf("started %+v, Location %q", j, r.Header.Get("Location"))
		}
		drain(t, relay)
		if got, err := e.app.Jobs.Get(ctx, "acme", j.ID); err != nil || got.Status != jobs.Done || got.Done != len(acme) {
			t.Fatalf("job %+v %v", got, err)
		}
		var fit customers.CLVFit
		e.a.do("GET", "/v1/clv/fits/latest", nil).want(t, 200, &fit)
		if fit.ID != j.ID || fit.Status != customers.CLVFitDone || fit.Customers != len(acme) || fit.Contacts != len(acme) ||
			fit.Currency != "EUR" || fit.Unit != customers.CLVDay || fit.HorizonDays != 365 || !fit.BGNBD.Converged || fit.BGNBD.Model.R <= 0 {
			t.Errorf("latest fit %+v", fit)
		}
		var byID customers.CLVFit
		e.a.do("GET", "/v1/clv/fits/"+j.ID, nil).want(t, 200, &byID)
		if byID.ID != fit.ID || !byID.FinishedAt.Equal(fit.FinishedAt) {
			t.Errorf("fit by id %+v", byID)
		}
		for _, id := range acme {
			pr, _, err := customers.GetProfile(ctx, e.store, "acme", id)
			if err != nil || pr.CLV == nil || pr.CLV.FitID != j.ID || len(pr.Purchases.Days) == 0 {
				t.Fatalf("acme profile %s: %+v %v", id, pr.CLV, err)
			}
		}

		// Nothing of acme's is globex's, and globex's data is too little.
		e.b.do("GET", "/v1/clv/fits/"+j.ID, nil).want(t, 404, nil)
		e.b.do("GET", "/v1/clv/fits/latest", nil).want(t, 404, nil)
		var jb jobs.Job
		e.b.do("POST", "/v1/clv/fits", map[string]any{"unit": "week", "horizon_days": 730, "discount_rate": 0.05}).want(t, 202, &jb)
		drain(t, relay)
		got, err := e.app.Jobs.Get(ctx, "globex", jb.ID)
		if err != nil || got.Status != jobs.Failed || got.Error == nil || got.Error.Code != core.CodeInvalid {
			t.Fatalf("globex job %+v %v", got, err)
		}
		e.b.do("GET", "/v1/clv/fits/"+jb.ID, nil).want(t, 404, nil)
		for _, id := range globex {
			if pr, _, err := customers.GetProfile(ctx, e.store, "globex", id); err != nil || pr.CLV != nil {
				t.Fatalf("globex profile %s: %+v %v", id, pr.CLV, err)
			}
		}
	})
}
