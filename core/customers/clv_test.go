package customers

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/btyd"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/google/go-cmp/cmp"
)

var clvNow = time.Date(2026, 6, 30, 22, 30, 0, 0, time.UTC) // 1 July in Europe/Rome

// SimulatedProfiles are n customers' profiles with first purchases in the
// two years before base, buying on transaction days as a Poisson process
// at their own rate until they drop out after a purchase (BG/NBD's story
// with uniform rates and drop-out probabilities), spending around their
// own mean in EUR; some buy later than base too (days a fit at base must
// ignore).
func simulatedProfiles(seed uint64, n int, base string) []Profile {
	rng := rand.New(rand.NewPCG(seed, 1))
	end, _ := time.Parse(time.DateOnly, base)
	out := make([]Profile, n)
	for i := range out {
		first := end.AddDate(0, 0, -rng.IntN(730))
		rate := 0.005 + 0.05*rng.Float64()
		drop := 0.05 + 0.4*rng.Float64()
		mean := 1000 + 9000*rng.Float64()
		p := Profile{ContactID: core.NewID(clvNow.Add(time.Duration(i) * time.Millisecond))}
		day := first
		for k := 0; ; k++ {
			amount := int64(mean * (0.5 + rng.Float64()))
			p.Purchases.Days = append(p.Purchases.Days, Day{Date: day.Format(time.DateOnly), Orders: 1, Amounts: []Amount{{Currency: "EUR", Net: amount}}})
			if k > 0 && rng.Float64() < drop {
				break
			}
			gap := math.Ceil(rng.ExpFloat64() / rate)
			day = day.AddDate(0, 0, int(gap))
			if day.After(end.AddDate(0, 0, 60)) {
				break
			}
		}
		p.Purchases.TransactionDays = len(p.Purchases.Days)
		out[i] = p
	}
	return out
}

func putProfiles(t *testing.T, st store.Store, tenant string, ps []Profile) {
	t.Helper()
	for i := range ps {
		w, err := ProfileDoc.Put(ProfileKey(tenant, ps[i].ContactID), 0, &ps[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(context.Background(), w.Item, w.Cond); err != nil {
			t.Fatal(err)
		}
	}
}

type clvWorld struct {
	st    store.Store
	jobs  *jobs.Service
	fits  *CLVFits
	relay *events.Relay
}

func newCLVWorld(t *testing.T) *clvWorld {
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := func() time.Time { return clvNow }
	js := jobs.New(st, now)
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	fits := NewCLVFits(st, js, func(context.Context, string) (*time.Location, error) { return rome, nil }, now)
	delivery := events.NewConsumers(st, slog.New(slog.DiscardHandler), now)
	delivery.Register(js.Consumer())
	return &clvWorld{st: st, jobs: js, fits: fits, relay: &events.Relay{Store: st, Publisher: delivery, Log: slog.New(slog.DiscardHandler), Now: now}}
}

// run relays step events until the job is over (a bounded number of
// rounds: each round takes every pending step).
func (w *clvWorld) run(t *testing.T, tenant, id string) jobs.Job {
	t.Helper()
	ctx := context.Background()
	for range 200 {
		if _, err := w.relay.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		j, err := w.jobs.Get(ctx, tenant, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != jobs.Running {
			return j
		}
	}
	t.Fatalf("job %s still running after 200 rounds", id)
	return jobs.Job{}
}

// A fit over a few hundred customers: the fit is stored and the latest,
// every customer's profile carries its CLV part and keeps its other
// parts, and another tenant's profiles are neither read nor written.
func TestCLVFitJob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newCLVWorld(t)
	asOf := "2026-07-01" // clvNow in Rome
	a := simulatedProfiles(1, 400, asOf)
	a[0].Lifecycle = &Lifecycle{State: "active", Since: clvNow}
	a[1].RFM = &RFM{R: 5, F: 4, M: 3, Segment: "champions", At: clvNow}
	putProfiles(t, w.st, "acme", a)
	b := simulatedProfiles(2, 30, asOf) // too few to fit, and never touched by acme's
	putProfiles(t, w.st, "other", b)

	j, err := w.fits.Start(ctx, "acme", CLVParams{})
	if err != nil {
		t.Fatal(err)
	}
	j = w.run(t, "acme", j.ID)
	if j.Status != jobs.Done {
		t.Fatalf("job %s: %s (%v)", j.ID, j.Status, j.Error)
	}
	var params CLVParams
	if err := json.Unmarshal(j.Params, &params); err != nil {
		t.Fatal(err)
	}
	rate := DefaultCLVDiscountRate
	if diff := cmp.Diff(CLVParams{AsOf: clvNow, Unit: CLVDay, HorizonDays: 365, DiscountRate: &rate}, params); diff != "" {
		t.Errorf("params with defaults (-want +got):\n%s", diff)
	}

	fit, err := w.fits.Latest(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if fit.ID != j.ID || fit.Status != "done" || fit.Currency != "EUR" || fit.AsOfDate != asOf || !fit.BGNBD.Converged || !fit.GammaGamma.Converged {
		t.Errorf("fit %+v", fit)
	}
	if fit.Customers != len(a) || fit.Contacts != len(a) || fit.Repeaters == 0 || len(fit.Quantiles) != 6 {
		t.Errorf("fit counts: customers %d, contacts %d, repeaters %d, quantiles %v; want %d", fit.Customers, fit.Contacts, fit.Repeaters, fit.Quantiles, len(a))
	}
	for i, p := range a {
		got, _, err := GetProfile(ctx, w.st, "acme", p.ContactID)
		if err != nil {
			t.Fatal(err)
		}
		c := got.CLV
		if c == nil || c.FitID != j.ID || c.Currency != "EUR" || c.HorizonDays != 365 || !(c.PAlive > 0 && c.PAlive <= 1) ||
			!(c.ExpectedTransactions >= 0) || !(c.ExpectedSpend > 0) || !(c.Value >= 0) || !c.At.Equal(clvNow) {
			t.Fatalf("profile %d CLV %+v", i, c)
		}
		if diff := cmp.Diff(p.Purchases, got.Purchases); diff != "" || !cmp.Equal(p.RFM, got.RFM) || !cmp.Equal(p.Lifecycle, got.Lifecycle) {
			t.Fatalf("profile %d: other parts changed: %s", i, diff)
		}
	}
	for _, p := range b {
		got, _, err := GetProfile(ctx, w.st, "other", p.ContactID)
		if err != nil || got.CLV != nil {
			t.Fatalf("other tenant's profile written: %+v %v", got.CLV, err)
		}
	}
	if _, err := w.fits.Latest(ctx, "other"); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("other tenant's latest: %v", err)
	}
	if _, err := w.fits.Get(ctx, "other", j.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("acme's fit read as other's: %v", err)
	}

	// The other tenant has too little data: the job fails with the problem.
	jb, err := w.fits.Start(ctx, "other", CLVParams{Unit: CLVWeek})
	if err != nil {
		t.Fatal(err)
	}
	jb = w.run(t, "other", jb.ID)
	if jb.Status != jobs.Failed || jb.Error == nil || jb.Error.Code != core.CodeInvalid || len(jb.Error.Fields) != 1 || jb.Error.Fields[0].Path != "as_of" {
		t.Fatalf("too little data: %s %+v", jb.Status, jb.Error)
	}
	t.Log(jb.Error.Message)
}

func TestCLVParamsRefused(t *testing.T) {
	t.Parallel()
	w := newCLVWorld(t)
	neg, big := -0.1, 1.5
	tests := []struct {
		p     CLVParams
		field string
	}{
		{CLVParams{AsOf: clvNow.Add(time.Hour)}, "as_of"},
		{CLVParams{Unit: "month"}, "unit"},
		{CLVParams{HorizonDays: -1}, "horizon_days"},
		{CLVParams{HorizonDays: 3651}, "horizon_days"},
		{CLVParams{DiscountRate: &neg}, "discount_rate"},
		{CLVParams{DiscountRate: &big}, "discount_rate"},
		{CLVParams{Currency: "XYZ"}, "currency"},
	}
	for _, tt := range tests {
		_, err := w.fits.Start(context.Background(), "acme", tt.p)
		var ce *core.Error
		if !asError(err, &ce) || ce.Code != core.CodeInvalid || len(ce.Fields) != 1 || ce.Fields[0].Path != tt.field {
			t.Errorf("%+v: %v, want invalid %s", tt.p, err, tt.field)
		}
	}
}

func asError(err error, ce **core.Error) bool {
	e, ok := err.(*core.Error)
	*ce = e
	return ok
}

// What a profile's days mean at a calibration date, in days and weeks.
func TestCLVCustomer(t *testing.T) {
	t.Parallel()
	eur := func(n int64) []Amount { return []Amount{{Currency: "EUR", Net: n}} }
	days := []Day{
		{Date: "2026-01-01", Amounts: eur(500)},
		{Date: "2026-01-15", Amounts: []Amount{{Currency: "EUR", Net: 1000}, {Currency: "USD", Net: 300}}},
		{Date: "2026-02-12", Amounts: eur(2000)},
		{Date: "2026-03-01", Amounts: eur(9999)}, // after as_of: ignored
	}
	tests := []struct {
		name  string
		days  []Day
		asOf  string
		unit  CLVUnit
		want  clvInput
		isCus bool
	}{
		{"days", days, "2026-02-26", CLVDay, clvInput{Customer: cust(2, 42, 56), spend: spends{"EUR": {2, 1500}, "USD": {1, 300}}.conv()}, true},
		{"weeks", days, "2026-02-26", CLVWeek, clvInput{Customer: cust(2, 6, 8), spend: spends{"EUR": {2, 1500}, "USD": {1, 300}}.conv()}, true},
		{"one day", days[:1], "2026-02-26", CLVDay, clvInput{Customer: cust(0, 0, 56), spend: spends{"EUR": {0, 0}}.conv()}, true},
		{"first after as_of", days[3:], "2026-02-26", CLVDay, clvInput{}, false},
		{"bought on as_of", days, "2026-01-01", CLVDay, clvInput{Customer: cust(0, 0, 0), spend: spends{"EUR": {0, 0}}.conv()}, true},
	}
	for _, tt := range tests {
		got, ok := clvCustomer(Purchases{Days: tt.days}, tt.asOf, tt.unit)
		if ok != tt.isCus {
			t.Errorf("%s: customer %v, want %v", tt.name, ok, tt.isCus)
			continue
		}
		if !ok {
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(clvInput{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// A profile that changed between the page and the write is re-read: its
// new purchases stay, the CLV part is added.
func TestPutCLVRace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newCLVWorld(t)
	p := Profile{ContactID: core.NewID(clvNow)}
	putProfiles(t, w.st, "acme", []Profile{p})
	k := ProfileKey("acme", p.ContactID)
	// The summary consumer adds a day after the page was read at version 1.
	if _, err := ProfileDoc.Update(ctx, w.st, k, false, func(v *Profile, _ bool) error {
		v.Purchases.Days = append(v.Purchases.Days, Day{Date: "2026-06-30", Orders: 1})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	v := CLV{PAlive: 0.5, FitID: "f", Currency: "EUR"}
	if err := w.fits.putCLV(ctx, k, 1, v); err != nil {
		t.Fatal(err)
	}
	got, version, err := ProfileDoc.Get(ctx, w.st, k)
	if err != nil || version != 3 || len(got.Purchases.Days) != 1 || got.CLV == nil || *got.CLV != v {
		t.Fatalf("after the race: version %d, %+v, %v", version, got, err)
	}
	// Written again (a step delivered twice): nothing to write.
	if err := w.fits.putCLV(ctx, k, 3, v); err != nil {
		t.Fatal(err)
	}
	if _, version, _ := ProfileDoc.Get(ctx, w.st, k); version != 3 {
		t.Errorf("an unchanged CLV was rewritten: version %d", version)
	}
}

func TestCLVQuantiles(t *testing.T) {
	t.Parallel()
	bins := map[int]int{}
	for v := 1; v <= 1000; v++ {
		bins[clvBin(float64(v))]++
	}
	for _, q := range clvQuantiles(bins, 1000) {
		want := q.Q * 1000
		if math.Abs(q.Value-want) > 0.011*want+1 {
			t.Errorf("quantile %v = %v, want %v within 1 %%", q.Q, q.Value, want)
		}
	}
	if clvQuantiles(nil, 0) != nil {
		t.Error("quantiles of nothing")
	}
}

type custS struct{ x, m float64 }

type spends map[string]custS

func (m spends) conv() map[string]btyd.Customer {
	out := map[string]btyd.Customer{}
	for k, v := range m {
		out[k] = btyd.Customer{X: v.x, Spend: v.m}
	}
	return out
}

func cust(x, tx, t float64) btyd.Customer { return btyd.Customer{X: x, TX: tx, T: t} }
