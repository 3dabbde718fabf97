package httpapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/reports"
)

// putProfiles writes customer profiles as the customers consumer would.
func putProfiles(t *testing.T, e *env, tenant string, ps ...customers.Profile) {
	t.Helper()
	for i := range ps {
		w, err := customers.ProfileDoc.Put(customers.ProfileKey(tenant, ps[i].ContactID), 0, &ps[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := e.store.Put(context.Background(), w.Item, w.Cond); err != nil {
			t.Fatal(err)
		}
	}
}

func day(date string, orders int, amounts ...customers.Amount) customers.Day {
	return customers.Day{Date: date, Orders: orders, Amounts: amounts}
}

func eur(net, costed, cost int64) customers.Amount {
	return customers.Amount{Currency: "EUR", Net: net, Costed: costed, Cost: cost}
}

// refreshReports starts a refresh and runs its steps, as the worker does.
func refreshReports(t *testing.T, e *env, c *client) string {
	t.Helper()
	var started struct {
		JobID  string `json:"job_id"`
		Kind   string `json:"kind"`
		JobURL string `json:"job_url"`
	}
	r := c.do("POST", "/v1/reports/refresh", nil).want(t, 202, &started)
	if started.Kind != reports.JobKind || r.Header.Get("Location") != "/v1/jobs/"+started.JobID || started.JobURL != "/v1/jobs/"+started.JobID {
		t.Fatalf("refresh started %+v, Location %q", started, r.Header.Get("Location"))
	}
	drain(t, relayOf(e, consumers(e, "jobs")...))
	return started.JobID
}

// The reports end to end on each engine: profiles in Europe/Rome days
// (a1's order of 00:30 on 1 February is February's), a refresh job in
// steps through the consumers, each report read through the API, and the
// other tenant's profiles never counted.
func TestReportsEndToEnd(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e *env) {
		e.app.Reports.WithSteps(2, 3) // several steps, as a large tenant takes
		e.a.do("PATCH", "/v1/tenant", map[string]any{"time_zone": "Europe/Rome"}).want(t, 200, nil)
		putProfiles(t, e, "acme",
			customers.Profile{ContactID: "a1", Purchases: customers.Purchases{Days: []customers.Day{day("2026-01-31", 1, eur(1000, 1000, 400)), day("2026-02-01", 2, eur(2000, 0, 0))}}},
			customers.Profile{ContactID: "a2", Purchases: customers.Purchases{Days: []customers.Day{day("2026-02-01", 1, eur(3000, 0, 0)), day("2026-03-05", 1, eur(1000, 0, 0))}}},
			customers.Profile{ContactID: "a3", Purchases: customers.Purchases{Days: []customers.Day{day("2026-03-05", 1, customers.Amount{Currency: "USD", Net: 7000})}}},
			customers.Profile{ContactID: "a4", Purchases: customers.Purchases{Days: []customers.Day{day("2026-01-10", 1, eur(4000, 0, 0))}},
				RFM: &customers.RFM{Segment: "champions"}, CLV: &customers.CLV{Value: 5000, Currency: "EUR"}},
		)
		putProfiles(t, e, "globex", customers.Profile{ContactID: "g1", Purchases: customers.Purchases{Days: []customers.Day{day("2026-01-15", 1, eur(99999, 0, 0))}}})

		// Before any refresh: empty reports, no as_of.
		var k reports.KPIReport
		e.a.do("GET", "/v1/kpis?from=2026-02&to=2026-03", nil).want(t, 200, &k)
		if k.AsOf != nil || k.Customers != 0 {
			t.Fatalf("KPIs before a refresh: %+v", k)
		}
		jobID := refreshReports(t, e, e.a)

		var co reports.CohortReport
		e.a.do("GET", "/v1/reports/cohorts?from=2026-01&to=2026-03&currency=EUR", nil).want(t, 200, &co)
		if co.AsOf == nil || co.TimeZone != "Europe/Rome" || len(co.Cohorts) != 2 {
			t.Fatalf("cohorts %+v", co)
		}
		rome, _ := time.LoadLocation("Europe/Rome")
		asOf := co.AsOf.In(rome)
		monthsToNow := (asOf.Year()-2026)*12 + int(asOf.Month()) - 1 // January's cells run to the snapshot's month
		jan, feb := co.Cohorts[0], co.Cohorts[1]
		if jan.Cohort != "2026-01" || jan.Size != 2 || len(jan.Cells) != monthsToNow+1 || feb.Cohort != "2026-02" || feb.Size != 1 {
			t.Fatalf("cohort rows %+v", co.Cohorts)
		}
		// January (a1, a4): 5000 in month 0; a1 back in February with 2000
		// over two orders, its second purchase.
		c0, c1 := jan.Cells[0], jan.Cells[1]
		if c0.Active != 2 || c0.Orders != 2 || c0.Revenue.Decimal != "50.00" || c1.Active != 1 || c1.Share != 0.5 || c1.Orders != 2 ||
			c1.Revenue.Minor.String() != "2000" || *c1.RevenueShare != 0.4 || c1.SecondPurchases != 1 || jan.Cells[2].Active != 0 {
			t.Errorf("January's cells %+v %+v", c0, c1)
		}

		var rev reports.RevenueReport
		e.a.do("GET", "/v1/reports/revenue?from=2026-01&to=2026-03&interval=month&currency=EUR", nil).want(t, 200, &rev)
		if len(rev.Currencies) != 1 || len(rev.Currencies[0].Buckets) != 3 {
			t.Fatalf("revenue %+v", rev)
		}
		tot, janB := rev.Currencies[0].Total, rev.Currencies[0].Buckets[0]
		if tot.Orders != 6 || tot.Revenue.Decimal != "110.00" || tot.AOV.Minor.String() != "1833" || *tot.ActiveCustomers != 3 ||
			janB.Margin.Decimal != "6.00" || *janB.MarginRate != 0.6 || janB.NewCustomers != 2 {
			t.Errorf("EUR total %+v, January %+v", tot, janB)
		}

		var ret reports.RetentionReport
		e.a.do("GET", "/v1/reports/retention?from=2026-02&to=2026-03&period=month&currency=EUR", nil).want(t, 200, &ret)
		// February: a1 a2 active, a1 from January's a1 a4: churn ½. March:
		// a2 of February's a1 a2.
		if len(ret.Periods) != 2 || *ret.Periods[0].ChurnRate != 0.5 || ret.Periods[1].Retained != 1 || ret.Acquired != 1 || ret.Repeaters != 1 {
			t.Errorf("retention %+v", ret)
		}

		e.a.do("GET", "/v1/kpis?from=2026-02&to=2026-03", nil).want(t, 200, &k)
		// Four customers by March; a1 a2 a3 active in February–March, a1
		// a4 in December–January, a1 in both.
		if k.Customers != 4 || k.Active.Current != 3 || k.Active.Previous != 2 || k.Retained != 1 || *k.RetentionRate != 0.5 ||
			len(k.Revenue) != 2 || k.Revenue[1].Currency != "USD" || k.Revenue[1].Revenue.Current.Decimal != "70.00" ||
			len(k.CLV) != 1 || k.CLV[0].P50.Minor.String() != "5000" || len(k.RFM) != 1 || k.RFM[0].Segment != "champions" {
			t.Errorf("KPIs %+v", k)
		}

		// globex sees nothing of acme's, and acme's job is not its own.
		var kb reports.KPIReport
		e.b.do("GET", "/v1/kpis?from=2026-01&to=2026-01", nil).want(t, 200, &kb)
		if kb.AsOf != nil || kb.Customers != 0 || kb.ActiveShare != nil {
			t.Errorf("globex before its refresh: %+v", kb)
		}
		e.b.do("GET", "/v1/jobs/"+jobID, nil).want(t, 404, nil)
		refreshReports(t, e, e.b)
		var revB reports.RevenueReport
		e.b.do("GET", "/v1/reports/revenue?from=2026-01&to=2026-03", nil).want(t, 200, &revB)
		if len(revB.Currencies) != 1 || revB.Currencies[0].Total.Revenue.Minor.String() != "99999" || revB.Currencies[0].Total.Orders != 1 {
			t.Errorf("globex revenue %+v", revB.Currencies)
		}
		var ka reports.KPIReport
		e.a.do("GET", "/v1/kpis?from=2026-02&to=2026-03", nil).want(t, 200, &ka)
		if ka.Customers != 4 {
			t.Errorf("acme's customers after globex's refresh: %d", ka.Customers)
		}
	})
}

// Bad ranges and currencies are 422s naming the parameter.
func TestReportsBadQueries(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	cases := []struct{ path, want string }{
		{"/v1/reports/cohorts?from=2026-05&to=2026-04", "query.from"},
		{"/v1/reports/cohorts?from=2026-01&to=2026-13", "query.to"},
		{"/v1/reports/cohorts?from=2026-01&to=2026-02&currency=EUX", "query.currency"},
		{"/v1/reports/cohorts?from=2026-01&to=2026-02&currency=eur", "query.currency"},
		{"/v1/reports/cohorts?to=2026-02", "query.from"},
		{"/v1/reports/revenue?from=2026-01-01&to=2026-02-01&interval=month", "query.from"},
		{"/v1/reports/revenue?from=2026-01&to=2026-02&interval=day", "query.from"},
		{"/v1/reports/revenue?from=2026-01&to=2026-02&interval=week", "query.interval"},
		{"/v1/reports/revenue?from=2020-01-01&to=2026-02-01&interval=day", "query.to"},
		{"/v1/reports/retention?from=2026-01&to=2026-02&period=year", "query.period"},
		{"/v1/reports/retention?from=1990-01&to=2026-02", "query.to"},
		{"/v1/kpis?from=2026-03&to=2026-02", "query.from"},
		{"/v1/kpis?from=2026-01&to=2026-02&currency=EUR", "query.currency"}, // not a KPI parameter
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			p := e.a.do("GET", c.path, nil).want(t, 422, nil).problem(t)
			ls := p.locations()
			if len(ls) == 0 || ls[0] != c.want {
				t.Errorf("locations %v, want %s first", ls, c.want)
			}
		})
	}
}
