package reports_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/reports"
)

func amount(n int64, currency string) reports.ReportAmount {
	digits, _ := money.Digits(currency)
	return reports.ReportAmount{Minor: money.TotalOf(n), Decimal: money.Decimal(n, digits)}
}

func ptr[T any](v T) *T { return &v }

func rate(a, b float64) *float64 { return ptr(a / b) }

var approx = cmpopts.EquateApprox(1e-12, 0)

// built is the fixture's snapshot on a fresh world, for tenant "acme",
// with another tenant's customer beside it that must never count.
func built(t *testing.T, steps ...int) *world {
	t.Helper()
	w := newWorld(t)
	if len(steps) == 2 {
		w.reports.WithSteps(steps[0], steps[1])
	}
	w.put(t, "acme", fixture()...)
	w.put(t, "globex", profileOf("c01", rome, order{"2026-01-15T10:00:00Z", "EUR", 999999, 999999, 1}),
		profileOf("g02", rome, order{"2026-02-15T10:00:00Z", "GBP", 1234, 0, 0}))
	w.refresh(t, "acme")
	return w
}

// cohortCell is a cell of the fixture's EUR matrix.
func cohortCell(k int, m string, size, active, orders, revenue, base, second int64) reports.CohortCell {
	c := reports.CohortCell{MonthsSince: k, Month: m, Active: active, Share: float64(active) / float64(size), Orders: orders,
		Revenue: ptr(amount(revenue, "EUR")), SecondPurchases: second}
	if base != 0 {
		c.RevenueShare = ptr(float64(revenue) / float64(base))
	}
	return c
}

// The EUR retention matrix, by hand. Cohorts (first EUR transaction day,
// Rome time): 2026-01 c01 c03 c04 c10 c12 (c12's 23:30 UTC on 31 December
// is New Year's Day in Rome; c04's 22:59 UTC on 31 January is still
// January), 2026-02 c02 (23:30 UTC on 31 January) c07, 2026-03 c06 (its
// EUR order; its USD one came first) c09, 2026-04 c08 (22:30 UTC on 31
// March, summer time). The snapshot is at 00:30 on 1 May in Rome, so every
// row runs to May.
func TestCohortsByHand(t *testing.T) {
	w := built(t)
	got, err := w.reports.Cohorts(context.Background(), "acme", reports.CohortQuery{From: "2026-01", To: "2026-12", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	want := reports.CohortReport{AsOf: ptr(asOf), TimeZone: "Europe/Rome", Currency: "EUR", From: "2026-01", To: "2026-12", Cohorts: []reports.CohortRow{
		{Cohort: "2026-01", Size: 5, Cells: []reports.CohortCell{
			// January: all five; c03 ordered twice that day, c12 on two
			// days (its second purchase); 10000+5000+1500+4000+9000+1000.
			cohortCell(0, "2026-01", 5, 5, 7, 30500, 30500, 1),
			cohortCell(1, "2026-02", 5, 1, 1, 5000, 30500, 1), // c01
			cohortCell(2, "2026-03", 5, 1, 1, 4000, 30500, 1), // c10, after a month away
			cohortCell(3, "2026-04", 5, 1, 1, 4000, 30500, 1), // c03
			cohortCell(4, "2026-05", 5, 0, 0, 0, 30500, 0),
		}},
		{Cohort: "2026-02", Size: 2, Cells: []reports.CohortCell{
			cohortCell(0, "2026-02", 2, 2, 2, 14000, 14000, 0),
			cohortCell(1, "2026-03", 2, 2, 2, 8000, 14000, 2), // c02 2000, c07 6000
			cohortCell(2, "2026-04", 2, 1, 1, 6000, 14000, 0), // c07
			cohortCell(3, "2026-05", 2, 0, 0, 0, 14000, 0),
		}},
		{Cohort: "2026-03", Size: 2, Cells: []reports.CohortCell{
			cohortCell(0, "2026-03", 2, 2, 3, 4500, 4500, 0), // c06 3000, c09 1000+500 in two orders
			cohortCell(1, "2026-04", 2, 0, 0, 0, 4500, 0),
			cohortCell(2, "2026-05", 2, 0, 0, 0, 4500, 0),
		}},
		{Cohort: "2026-04", Size: 1, Cells: []reports.CohortCell{
			cohortCell(0, "2026-04", 1, 1, 1, 2500, 2500, 0),
			cohortCell(1, "2026-05", 1, 0, 0, 0, 2500, 0),
		}},
	}}
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("EUR cohorts (-want +got):\n%s", d)
	}

	// Over every currency, without money: c05 (USD, February) joins
	// February, c06 is March's by its USD order of 1 March in Rome.
	all, err := w.reports.Cohorts(context.Background(), "acme", reports.CohortQuery{From: "2025-11", To: "2026-04"})
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]int64{}
	for _, r := range all.Cohorts {
		sizes[r.Cohort] = r.Size
		if r.Cells[0].Revenue != nil {
			t.Errorf("cohort %s has revenue over every currency", r.Cohort)
		}
	}
	if d := cmp.Diff(map[string]int64{"2025-11": 1, "2026-01": 5, "2026-02": 3, "2026-03": 2, "2026-04": 1}, sizes); d != "" {
		t.Errorf("cohort sizes over every currency (-want +got):\n%s", d)
	}
}

// Monthly EUR revenue by hand (Rome dates): January 7 orders, 30500, of
// which c01's 10000 costed at 6000; February 4 orders (c02, c01, c07, c13),
// 24000, c02's 8000 costed at 5000; March 6 orders (c09's two, c10, c07,
// c02, c06), 16500, nothing costed; April 3 orders (c08, c03, c07), 12500.
func TestRevenueByHand(t *testing.T) {
	w := built(t)
	got, err := w.reports.Revenue(context.Background(), "acme", reports.RevenueQuery{From: "2026-01", To: "2026-04", Interval: "month", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	b := func(period string, orders, rev, aov, costed, cost, newC, active int64) reports.Bucket {
		bk := reports.Bucket{Period: period, Orders: orders, Revenue: amount(rev, "EUR"), AOV: ptr(amount(aov, "EUR")), Costed: amount(costed, "EUR"),
			Cost: amount(cost, "EUR"), Margin: amount(costed-cost, "EUR"), NewCustomers: newC, ActiveCustomers: ptr(active)}
		if costed > 0 {
			bk.MarginRate = rate(float64(costed-cost), float64(costed))
			bk.CostedShare = rate(float64(costed), float64(rev))
		}
		return bk
	}
	want := reports.RevenueReport{AsOf: ptr(asOf), TimeZone: "Europe/Rome", Interval: "month", From: "2026-01", To: "2026-04", Currencies: []reports.RevenueSeries{{
		Currency: "EUR",
		Buckets: []reports.Bucket{
			b("2026-01", 7, 30500, 4357, 10000, 6000, 5, 5), // 30500/7 = 4357.14
			b("2026-02", 4, 24000, 6000, 8000, 5000, 2, 4),
			b("2026-03", 6, 16500, 2750, 0, 0, 2, 5),
			b("2026-04", 3, 12500, 4167, 0, 0, 1, 3), // 4166.67
		},
		// Eleven distinct EUR customers bought from January to April: all
		// but c05 (USD only) and c11 (nothing counted).
		Total: b("total", 20, 83500, 4175, 18000, 11000, 10, 11),
	}}}
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("EUR revenue by month (-want +got):\n%s", d)
	}

	// By day, across the end of January: c04's order at 22:59 UTC is on
	// the 31st in Rome, c02's at 23:30 UTC on 1 February.
	days, err := w.reports.Revenue(context.Background(), "acme", reports.RevenueQuery{From: "2026-01-30", To: "2026-02-02", Interval: "day"})
	if err != nil {
		t.Fatal(err)
	}
	if len(days.Currencies) != 2 || days.Currencies[0].Currency != "EUR" || days.Currencies[1].Currency != "USD" {
		t.Fatalf("currencies %+v", days.Currencies)
	}
	zero := reports.Bucket{Revenue: amount(0, "EUR"), Costed: amount(0, "EUR"), Cost: amount(0, "EUR"), Margin: amount(0, "EUR"), ActiveCustomers: ptr(int64(0))}
	d30, d02 := zero, zero
	d30.Period, d02.Period = "2026-01-30", "2026-02-02"
	wantDays := []reports.Bucket{d30, b("2026-01-31", 1, 1500, 1500, 0, 0, 1, 1), b("2026-02-01", 1, 8000, 8000, 8000, 5000, 1, 1), d02}
	if d := cmp.Diff(wantDays, days.Currencies[0].Buckets, approx); d != "" {
		t.Errorf("EUR revenue by day (-want +got):\n%s", d)
	}
	total := b("total", 2, 9500, 4750, 8000, 5000, 2, 0)
	total.ActiveCustomers = nil // days do not add into distinct customers
	if d := cmp.Diff(total, days.Currencies[0].Total, approx); d != "" {
		t.Errorf("EUR total by day (-want +got):\n%s", d)
	}

	// USD: c05's 20000 in February (costed at 12000); in March c06's 7000
	// (00:10 on 1 March in Rome), c05's 10000 (costed at 7000) and c09's
	// 1200, one order of its three that day.
	usd, err := w.reports.Revenue(context.Background(), "acme", reports.RevenueQuery{From: "2026-02", To: "2026-03", Interval: "month", Currency: "USD"})
	if err != nil {
		t.Fatal(err)
	}
	u := func(period string, orders, rev, aov, costed, cost, newC, active int64) reports.Bucket {
		return reports.Bucket{Period: period, Orders: orders, Revenue: amount(rev, "USD"), AOV: ptr(amount(aov, "USD")), Costed: amount(costed, "USD"),
			Cost: amount(cost, "USD"), Margin: amount(costed-cost, "USD"), MarginRate: rate(float64(costed-cost), float64(costed)),
			CostedShare: rate(float64(costed), float64(rev)), NewCustomers: newC, ActiveCustomers: ptr(active)}
	}
	wantUSD := []reports.Bucket{u("2026-02", 1, 20000, 20000, 20000, 12000, 1, 1), u("2026-03", 3, 18200, 6067, 10000, 7000, 2, 3)}
	if len(usd.Currencies) != 1 {
		t.Fatalf("USD report %+v", usd)
	}
	if d := cmp.Diff(wantUSD, usd.Currencies[0].Buckets, approx); d != "" {
		t.Errorf("USD revenue (-want +got):\n%s", d)
	}
}

// EUR customers active per month (Rome): January c01 c03 c04 c10 c12 (all
// new); February c01 c02 c07 c13 (c02 c07 new; c13 back from November);
// March c02 c06 c07 c09 c10 (c06 c09 new; c02 c07 from February, c10 from
// January); April c03 c07 c08 (c08 new; c07 from March, c03 from January).
func TestRetentionByHand(t *testing.T) {
	w := built(t)
	got, err := w.reports.Retention(context.Background(), "acme", reports.RetentionQuery{From: "2026-01", To: "2026-04", Period: "month", Currency: "EUR"})
	if err != nil {
		t.Fatal(err)
	}
	p := func(period string, active, newC, prevActive, retained int64) reports.RetentionPeriod {
		r := reports.RetentionPeriod{Period: period, Active: active, New: newC, Returning: active - newC, PreviousActive: prevActive,
			Retained: retained, Churned: prevActive - retained, RepeatRate: rate(float64(active-newC), float64(active))}
		if prevActive > 0 {
			r.RetentionRate = rate(float64(retained), float64(prevActive))
			r.ChurnRate = rate(float64(prevActive-retained), float64(prevActive))
		}
		return r
	}
	want := reports.RetentionReport{AsOf: ptr(asOf), TimeZone: "Europe/Rome", Currency: "EUR", Period: "month", From: "2026-01", To: "2026-04",
		// Acquired January to April: 5 + 2 + 2 + 1. A second transaction
		// day by April: c12 (2 January), c01, c10, c03 of January's; c02
		// and c07 of February's.
		Acquired: 10, Repeaters: 6, RepeatPurchaseRate: rate(6, 10),
		Periods: []reports.RetentionPeriod{
			p("2026-01", 5, 5, 0, 0), // nobody bought in EUR in December
			p("2026-02", 4, 2, 5, 1), // c01 stayed: churn 4/5
			p("2026-03", 5, 2, 4, 2), // c02 c07 stayed: churn 2/4
			p("2026-04", 3, 1, 5, 1), // c07 stayed: churn 4/5
		}}
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("EUR retention (-want +got):\n%s", d)
	}
}

// KPIs of March–April against January–February, over every currency:
// customers by the end of April are the twelve with a counted order (not
// c11); new in March–April c06 c08 c09, before c01 c03 c04 c10 c12 c02 c05
// c07; active then c02 c03 c05 c06 c07 c08 c09 c10, before c01 c02 c03 c04
// c05 c07 c10 c12 c13; of those nine, c02 c03 c05 c07 c10 came back.
func TestKPIsByHand(t *testing.T) {
	w := built(t)
	got, err := w.reports.KPIs(context.Background(), "acme", reports.KPIQuery{From: "2026-03", To: "2026-04"})
	if err != nil {
		t.Fatal(err)
	}
	count := func(cur, prev int64) reports.Count {
		return reports.Count{Current: cur, Previous: prev, Trend: rate(float64(cur-prev), float64(prev))}
	}
	clv := func(c string, n int64, p10, p25, p50, p75, p90 int64) reports.CLVQuantiles {
		return reports.CLVQuantiles{Currency: c, Customers: n, P10: amount(p10, c), P25: amount(p25, c), P50: amount(p50, c), P75: amount(p75, c), P90: amount(p90, c)}
	}
	want := reports.KPIReport{AsOf: ptr(asOf), TimeZone: "Europe/Rome", From: "2026-03", To: "2026-04", PreviousFrom: "2026-01", PreviousTo: "2026-02",
		Customers: 12, New: count(3, 8), Active: count(8, 9), ActiveShare: rate(8, 12),
		Retained: 5, RetentionRate: rate(5, 9), ChurnRate: ptr(1 - 5.0/9),
		Revenue: []reports.KPIRevenue{
			// EUR: 16500 + 12500 in 9 orders against 30500 + 24000 in 11;
			// nothing costed in March–April.
			{Currency: "EUR", Revenue: reports.AmountTrend{Current: amount(29000, "EUR"), Previous: amount(54500, "EUR"), Trend: rate(29000-54500, 54500)},
				Orders: count(9, 11), AOV: ptr(amount(3222, "EUR")), Margin: amount(0, "EUR"), Active: count(7, 8)},
			// USD: 18200 in 3 orders against 20000 in 1; 10000 costed at 7000.
			{Currency: "USD", Revenue: reports.AmountTrend{Current: amount(18200, "USD"), Previous: amount(20000, "USD"), Trend: rate(18200-20000, 20000)},
				Orders: count(3, 1), AOV: ptr(amount(6067, "USD")), Margin: amount(3000, "USD"), MarginRate: rate(3000, 10000), Active: count(3, 1)},
		},
		// Nearest rank of 5000 8000 10000 12000 30000: ranks 1 2 3 4 5.
		CLV: []reports.CLVQuantiles{clv("EUR", 5, 5000, 8000, 10000, 12000, 30000), clv("USD", 1, 50000, 50000, 50000, 50000, 50000)},
		RFM: []reports.KPISegment{{Segment: "champions", Customers: 2, Share: 0.5}, {Segment: "at_risk", Customers: 1, Share: 0.25},
			{Segment: "loyal", Customers: 1, Share: 0.25}},
		// In the lifecycle's order; none is not a state a customer is in.
		States: []reports.KPIState{{State: "active", Customers: 1, Share: 0.25}, {State: "dormant", Customers: 2, Share: 0.5},
			{State: "lost", Customers: 1, Share: 0.25}},
	}
	// Five EUR values: kept exactly, so the quantiles are exact too.
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("KPIs (-want +got):\n%s", d)
	}
}

// Pages of two profiles, steps of three: the build takes several steps,
// stopping within a page and going on after it, and adds up to the same.
func TestBuildInSteps(t *testing.T) {
	one, many := built(t), built(t, 2, 3)
	// 13 profiles, 3 a step: five steps, and each stops within a page.
	var res reports.BuildResult
	if err := json.Unmarshal(many.last.Result, &res); err != nil || many.last.Steps != 5 || one.last.Steps != 1 ||
		res.Profiles != 13 || !res.Published || many.last.Done != 13 {
		t.Fatalf("jobs %+v and %+v, result %s (%v)", one.last, many.last, many.last.Result, err)
	}
	q := reports.CohortQuery{From: "2025-01", To: "2026-12", Currency: "EUR"}
	a, err := one.reports.Cohorts(context.Background(), "acme", q)
	if err != nil {
		t.Fatal(err)
	}
	b, err := many.reports.Cohorts(context.Background(), "acme", q)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, b, approx); d != "" {
		t.Errorf("built in steps (-one step +many):\n%s", d)
	}
	k1, _ := one.reports.KPIs(context.Background(), "acme", reports.KPIQuery{From: "2026-01", To: "2026-04"})
	k2, _ := many.reports.KPIs(context.Background(), "acme", reports.KPIQuery{From: "2026-01", To: "2026-04"})
	if d := cmp.Diff(k1, k2, approx); d != "" {
		t.Errorf("KPIs built in steps (-one step +many):\n%s", d)
	}
}

// Another tenant's profiles never count, and its reports are its own.
func TestTenantIsolation(t *testing.T) {
	w := built(t)
	ctx := context.Background()
	// globex has no snapshot yet: nothing, not acme's.
	r, err := w.reports.Revenue(ctx, "globex", reports.RevenueQuery{From: "2026-01", To: "2026-04", Interval: "month"})
	if err != nil || r.AsOf != nil || len(r.Currencies) != 0 {
		t.Fatalf("globex before its refresh: %+v, %v", r, err)
	}
	j := w.refresh(t, "globex")
	r, err = w.reports.Revenue(ctx, "globex", reports.RevenueQuery{From: "2026-01", To: "2026-04", Interval: "month"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Currencies) != 2 || r.Currencies[0].Total.Revenue.Minor != money.TotalOf(999999) || r.Currencies[1].Currency != "GBP" {
		t.Errorf("globex revenue %+v", r.Currencies)
	}
	k, _ := w.reports.KPIs(ctx, "acme", reports.KPIQuery{From: "2026-01", To: "2026-04"})
	if k.Customers != 12 {
		t.Errorf("acme counts %d customers", k.Customers)
	}
	// acme cannot read globex's job.
	if _, err := w.jobs.Get(ctx, "acme", j.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("acme reads globex's job: %v", err)
	}
}

// A bad range or currency is a 422 naming the parameter.
func TestBadQueries(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
		want []string
	}{
		{"cohorts without a range", func() error { _, err := w.reports.Cohorts(ctx, "acme", reports.CohortQuery{}); return err }, []string{"from", "to"}},
		{"cohorts from after to", func() error {
			_, err := w.reports.Cohorts(ctx, "acme", reports.CohortQuery{From: "2026-05", To: "2026-04"})
			return err
		}, []string{"from"}},
		{"cohorts by day", func() error {
			_, err := w.reports.Cohorts(ctx, "acme", reports.CohortQuery{From: "2026-01-01", To: "2026-13"})
			return err
		}, []string{"from", "to"}},
		{"unknown currency", func() error {
			_, err := w.reports.Cohorts(ctx, "acme", reports.CohortQuery{From: "2026-01", To: "2026-02", Currency: "EUX"})
			return err
		}, []string{"currency"}},
		{"too many months", func() error {
			_, err := w.reports.Retention(ctx, "acme", reports.RetentionQuery{From: "2000-01", To: "2026-02", Period: "month"})
			return err
		}, []string{"to"}},
		{"retention by week", func() error {
			_, err := w.reports.Retention(ctx, "acme", reports.RetentionQuery{From: "2026-01", To: "2026-02", Period: "week"})
			return err
		}, []string{"period"}},
		{"revenue by month with dates", func() error {
			_, err := w.reports.Revenue(ctx, "acme", reports.RevenueQuery{From: "2026-01-01", To: "2026-02-01", Interval: "month"})
			return err
		}, []string{"from", "to"}},
		{"revenue by day over two years", func() error {
			_, err := w.reports.Revenue(ctx, "acme", reports.RevenueQuery{From: "2024-01-01", To: "2026-02-01", Interval: "day"})
			return err
		}, []string{"to"}},
		{"revenue by day, 30 February", func() error {
			_, err := w.reports.Revenue(ctx, "acme", reports.RevenueQuery{From: "2026-02-30", To: "2026-03-01", Interval: "day"})
			return err
		}, []string{"from"}},
		{"revenue by the hour", func() error {
			_, err := w.reports.Revenue(ctx, "acme", reports.RevenueQuery{From: "2026-01", To: "2026-02", Interval: "hour"})
			return err
		}, []string{"interval"}},
		{"kpis, year 0", func() error {
			_, err := w.reports.KPIs(ctx, "acme", reports.KPIQuery{From: "0000-01", To: "2026-02"})
			return err
		}, []string{"from"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			var ce *core.Error
			if !asError(err, &ce) || ce.Code != core.CodeInvalid {
				t.Fatalf("error %v, want invalid", err)
			}
			var paths []string
			for _, f := range ce.Fields {
				paths = append(paths, f.Path)
			}
			if d := cmp.Diff(c.want, paths); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
		})
	}
}

// Order events schedule one refresh per tenant and window, at its end
// plus the settle time, and the nightly one at 03:00 in Rome; firing them
// builds the snapshot.
func TestRefreshOnOrderEvents(t *testing.T) {
	w := newWorld(t)
	w.put(t, "acme", fixture()...)
	ctx := context.Background()
	for i := range 3 {
		ev := orderEvent("acme", i)
		if errs := w.relayPublish(ctx, ev); errs != nil {
			t.Fatal(errs)
		}
	}
	pending := w.pendingTimers(t, "acme")
	// 22:30 UTC: the window 22:30–22:35 ends, plus a minute, at 22:36;
	// 03:00 on 1 May in Rome (summer time) is 01:00 UTC.
	wantDue := []time.Time{asOf.Add(reports.Debounce + reports.Settle), time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC)}
	if d := cmp.Diff(wantDue, pending); d != "" {
		t.Fatalf("timers due (-want +got):\n%s", d)
	}
	w.clock.Advance(reports.Debounce + reports.Settle)
	if _, err := w.timers.Drain(ctx, 0, w.timers.FireAll); err != nil {
		t.Fatal(err)
	}
	w.drain(t)
	k, err := w.reports.KPIs(ctx, "acme", reports.KPIQuery{From: "2026-03", To: "2026-04"})
	if err != nil || k.AsOf == nil || k.Customers != 12 {
		t.Fatalf("after the debounced refresh: %+v, %v", k, err)
	}
	// The nightly one builds again, and schedules the next night's.
	w.clock.Set(time.Date(2026, 5, 1, 1, 0, 0, 0, time.UTC))
	if _, err := w.timers.Drain(ctx, 0, w.timers.FireAll); err != nil {
		t.Fatal(err)
	}
	w.drain(t)
	k2, err := w.reports.KPIs(ctx, "acme", reports.KPIQuery{From: "2026-03", To: "2026-04"})
	if err != nil || !k2.AsOf.After(*k.AsOf) {
		t.Fatalf("after the nightly refresh: as of %v, before %v (%v)", k2.AsOf, k.AsOf, err)
	}
	if d := cmp.Diff([]time.Time{time.Date(2026, 5, 2, 1, 0, 0, 0, time.UTC)}, w.pendingTimers(t, "acme")); d != "" {
		t.Errorf("next night (-want +got):\n%s", d)
	}
	// The replaced builds' parts are gone: one build's are left.
	if n := w.buildPartitions(t, "acme"); n != 1 {
		t.Errorf("%d builds kept, want 1", n)
	}
}
