package reports_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/reports"
)

// Whatever the parameters, a report answers or refuses with an invalid
// request naming them — never a panic or another error — on a snapshot
// built from profiles whose days are whatever the fuzzer made.
func FuzzReports(f *testing.F) {
	seeds := []struct{ from, to, interval, currency, date string }{
		{"2026-01", "2026-12", "month", "EUR", "2026-01-31"},
		{"2026-01-01", "2026-01-31", "day", "", "2026-02-29"},
		{"2026-13", "2026-00", "month", "eur", "2026-1-5"},
		{"0000-01", "9999-12", "hour", "XXX", ""},
		{"2026-02-30", "2026-03-01", "day", "JPY", "9999-12-31"},
		{"2026-01", "2026-01", "", "KWD", "0001-01-01"},
		{"+026-01", "2026-0\x00", "month", "EU", "2026-03-29"},
	}
	for _, s := range seeds {
		f.Add(s.from, s.to, s.interval, s.currency, s.date)
	}
	w := newWorld(f)
	f.Fuzz(func(t *testing.T, from, to, interval, currency, date string) {
		ctx := context.Background()
		tenant := core.NewID(time.Now()) // each run its own tenant: builds stay one profile
		w.put(t, tenant, customers.Profile{ContactID: "c1", Purchases: customers.Purchases{Days: []customers.Day{
			{Date: date, Orders: 2, Amounts: []customers.Amount{{Currency: "EUR", Net: 100}, {Currency: currency, Net: 5}}}, {Date: "2026-01-02", Orders: 1}}}})
		w.refresh(t, tenant)
		check := func(err error) {
			t.Helper()
			var ce *core.Error
			if err != nil && (!errors.As(err, &ce) || ce.Code != core.CodeInvalid || len(ce.Fields) == 0) {
				t.Fatalf("from %q to %q interval %q currency %q: %v", from, to, interval, currency, err)
			}
		}
		_, err := w.reports.Cohorts(ctx, tenant, reports.CohortQuery{From: from, To: to, Currency: currency})
		check(err)
		_, err = w.reports.Revenue(ctx, tenant, reports.RevenueQuery{From: from, To: to, Interval: interval, Currency: currency})
		check(err)
		_, err = w.reports.Retention(ctx, tenant, reports.RetentionQuery{From: from, To: to, Period: interval, Currency: currency})
		check(err)
		_, err = w.reports.KPIs(ctx, tenant, reports.KPIQuery{From: from, To: to})
		check(err)
	})
}
