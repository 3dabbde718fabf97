package sales_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// salesFixture is two tenants' stores of pipelines, deals, contacts and
// companies on the in-memory engine.
type salesFixture struct {
	ctx       context.Context
	pipelines *sales.Pipelines
	deals     *sales.Deals
	contacts  *contacts.Contacts
	companies *contacts.Companies
	pipeline  map[string]core.Pipeline // by tenant
}

func newSalesFixture(t *testing.T) *salesFixture {
	t.Helper()
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(time.Millisecond); return now }
	tenants := tenancy.NewTenants(st, clock)
	f := &salesFixture{ctx: ctx, pipelines: sales.NewPipelines(st, clock),
		contacts: contacts.NewContacts(st, tenants, clock), companies: contacts.NewCompanies(st, tenants, clock),
		pipeline: map[string]core.Pipeline{}}
	f.deals = sales.NewDeals(st, f.pipelines, clock)
	for _, tenant := range []string{"acme", "globex"} {
		if _, err := tenants.Create(ctx, tenant, tenant, "US"); err != nil {
			t.Fatal(err)
		}
		p, err := f.pipelines.Create(ctx, tenant, core.PipelineFields{Name: "New business", Stages: []core.PipelineStage{
			{ID: "lead", Name: "Lead", Probability: 10},
			{ID: "proposal", Name: "Proposal", Probability: 50},
			{ID: "won", Name: "Won", Probability: 100, Kind: core.StageKindWon},
			{ID: "lost", Name: "Lost", Kind: core.StageKindLost},
		}})
		if err != nil {
			t.Fatal(err)
		}
		f.pipeline[tenant] = p
	}
	return f
}

func (f *salesFixture) deal(t *testing.T, tenant string, d core.DealFields) core.Deal {
	t.Helper()
	d.PipelineID = f.pipeline[tenant].ID
	if d.Stage == "" {
		d.Stage = "lead"
	}
	if d.Currency == "" {
		d.Currency = "EUR"
	}
	out, err := f.deals.Create(f.ctx, tenant, d)
	if err != nil {
		t.Fatalf("create deal %s: %v", d.Name, err)
	}
	return out
}

// names lists every deal matching filter, a page of limit at a time.
func (f *salesFixture) names(t *testing.T, tenant string, filter sales.DealFilter, limit int) []string {
	t.Helper()
	names := []string{}
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatalf("more than 20 pages of %+v", filter)
		}
		page, next, err := f.deals.List(f.ctx, tenant, filter, limit, cursor)
		if err != nil {
			t.Fatalf("list %+v: %v", filter, err)
		}
		for _, d := range page {
			names = append(names, d.Name)
		}
		if next == "" {
			return names
		}
		cursor = next
	}
}

// Deals are listed by contact and by company, alone or with the other
// filters, in creation order and across pages; a deal whose contact or
// company changes moves with it, a deleted one leaves, and another
// tenant's ids find nothing.
func TestDealsByContactAndCompany(t *testing.T) {
	f := newSalesFixture(t)
	ctx := f.ctx
	co, err := f.companies.Create(ctx, "acme", core.CompanyFields{Name: "Initech"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.companies.Create(ctx, "acme", core.CompanyFields{Name: "Umbrella"})
	if err != nil {
		t.Fatal(err)
	}
	ada, err := f.contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Ada", CompanyID: co.ID})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := f.contacts.Create(ctx, "acme", core.ContactFields{FirstName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	f.deal(t, "acme", core.DealFields{Name: "A1", ContactID: ada.ID, CompanyID: co.ID})
	f.deal(t, "acme", core.DealFields{Name: "A2", ContactID: ada.ID, Stage: "won", CloseDate: "2026-11-20"})
	f.deal(t, "acme", core.DealFields{Name: "C1", CompanyID: co.ID})
	b1 := f.deal(t, "acme", core.DealFields{Name: "B1", ContactID: bob.ID, CompanyID: other.ID})
	f.deal(t, "acme", core.DealFields{Name: "N1"})
	f.deal(t, "acme", core.DealFields{Name: "A3", ContactID: ada.ID, CompanyID: co.ID})
	// globex's own deals never show in acme's lists, nor acme's in globex's.
	theirs, err := f.contacts.Create(ctx, "globex", core.ContactFields{FirstName: "Eve"})
	if err != nil {
		t.Fatal(err)
	}
	f.deal(t, "globex", core.DealFields{Name: "G1", ContactID: theirs.ID})

	tests := []struct {
		name   string
		tenant string
		filter sales.DealFilter
		want   []string
	}{
		{"a contact's", "acme", sales.DealFilter{ContactID: ada.ID}, []string{"A1", "A2", "A3"}},
		{"a company's", "acme", sales.DealFilter{CompanyID: co.ID}, []string{"A1", "C1", "A3"}},
		{"contact and company", "acme", sales.DealFilter{ContactID: ada.ID, CompanyID: co.ID}, []string{"A1", "A3"}},
		{"contact and status", "acme", sales.DealFilter{ContactID: ada.ID, Status: core.DealWon}, []string{"A2"}},
		{"company and pipeline", "acme", sales.DealFilter{CompanyID: co.ID, PipelineID: f.pipeline["acme"].ID}, []string{"A1", "C1", "A3"}},
		{"contact and another tenant's pipeline", "acme", sales.DealFilter{ContactID: ada.ID, PipelineID: f.pipeline["globex"].ID}, []string{}},
		{"a contact with none", "acme", sales.DealFilter{CompanyID: "01HZZZZZZZZZZZZZZZZZZZZZZZ"}, []string{}},
		{"another tenant's contact, from acme", "acme", sales.DealFilter{ContactID: theirs.ID}, []string{}},
		{"acme's contact, from globex", "globex", sales.DealFilter{ContactID: ada.ID}, []string{}},
		{"acme's company, from globex", "globex", sales.DealFilter{CompanyID: co.ID}, []string{}},
		{"globex's contact, from globex", "globex", sales.DealFilter{ContactID: theirs.ID}, []string{"G1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, limit := range []int{1, 2, 50} {
				if diff := cmp.Diff(tt.want, f.names(t, tt.tenant, tt.filter, limit)); diff != "" {
					t.Errorf("limit %d (-want +got):\n%s", limit, diff)
				}
			}
		})
	}

	// A cursor is bound to its filter: one of ada's pages does not go on
	// with bob's.
	_, next, err := f.deals.List(ctx, "acme", sales.DealFilter{ContactID: ada.ID}, 1, "")
	if err != nil || next == "" {
		t.Fatalf("first page: next %q, %v", next, err)
	}
	if _, _, err := f.deals.List(ctx, "acme", sales.DealFilter{ContactID: bob.ID}, 1, next); core.ErrorCode(err) != core.CodeInvalid {
		t.Errorf("ada's cursor on bob's deals: %v, want invalid", err)
	}

	// B1 changes hands: it leaves bob's and Umbrella's lists for ada's and
	// Initech's; then it is deleted.
	b1, err = f.deals.Update(ctx, "acme", b1.ID, 0, func(d *core.DealFields) error {
		d.ContactID, d.CompanyID = ada.ID, co.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		filter sales.DealFilter
		want   []string
	}{
		{sales.DealFilter{ContactID: bob.ID}, []string{}},
		{sales.DealFilter{CompanyID: other.ID}, []string{}},
		{sales.DealFilter{ContactID: ada.ID}, []string{"A1", "A2", "B1", "A3"}},
		{sales.DealFilter{CompanyID: co.ID}, []string{"A1", "C1", "B1", "A3"}},
	} {
		if diff := cmp.Diff(c.want, f.names(t, "acme", c.filter, 50)); diff != "" {
			t.Errorf("after the move, %+v (-want +got):\n%s", c.filter, diff)
		}
	}
	if _, err := f.deals.Delete(ctx, "acme", b1.ID, 0); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if diff := cmp.Diff([]string{"A1", "A2", "A3"}, f.names(t, "acme", sales.DealFilter{ContactID: ada.ID}, 50)); diff != "" {
		t.Errorf("after the delete (-want +got):\n%s", diff)
	}
}

// The forecast by expected-close range: both bounds included, either one
// open, deals without a date left out once a bound is set; a bound that is
// not a date, or a from after the to, is refused naming it.
func TestForecastRange(t *testing.T) {
	f := newSalesFixture(t)
	// Weighted at the lead stage's 10 %.
	f.deal(t, "acme", core.DealFields{Name: "Nov", AmountMinor: 1000, ExpectedClose: "2026-11-30"})
	f.deal(t, "acme", core.DealFields{Name: "Dec1", AmountMinor: 2000, ExpectedClose: "2026-12-01"})
	f.deal(t, "acme", core.DealFields{Name: "Dec31", AmountMinor: 4000, ExpectedClose: "2026-12-31"})
	f.deal(t, "acme", core.DealFields{Name: "Jan", AmountMinor: 8000, ExpectedClose: "2027-01-01"})
	f.deal(t, "acme", core.DealFields{Name: "Undated", AmountMinor: 16000})

	tests := []struct {
		name       string
		r          sales.ForecastRange
		total      int64
		deals      int
		wantFields []string // the fields refused; none when valid
	}{
		{"no range", sales.ForecastRange{}, 3100, 5, nil},
		{"december", sales.ForecastRange{From: "2026-12-01", To: "2026-12-31"}, 600, 2, nil},
		{"one day", sales.ForecastRange{From: "2026-12-31", To: "2026-12-31"}, 400, 1, nil},
		{"from only", sales.ForecastRange{From: "2026-12-02"}, 1200, 2, nil},
		{"to only", sales.ForecastRange{To: "2026-12-01"}, 300, 2, nil},
		{"nothing in it", sales.ForecastRange{From: "2030-01-01"}, 0, 0, nil},
		{"from after to", sales.ForecastRange{From: "2027-01-01", To: "2026-12-31"}, 0, 0, []string{"from"}},
		{"not a date", sales.ForecastRange{From: "2026-12", To: "31/12/2026"}, 0, 0, []string{"from", "to"}},
		{"no such day", sales.ForecastRange{To: "2026-02-30"}, 0, 0, []string{"to"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.deals.Forecasts(f.ctx, "acme", tt.r)
			if tt.wantFields != nil {
				var ce *core.Error
				if !errors.As(err, &ce) || ce.Code != core.CodeInvalid {
					t.Fatalf("error %v, want invalid", err)
				}
				var fields []string
				for _, fe := range ce.Fields {
					fields = append(fields, fe.Path)
				}
				if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var total money.Total
			deals := 0
			for _, fc := range got {
				total = total.Plus(fc.Total)
				deals += fc.Deals
			}
			if !total.Equal(money.TotalOf(tt.total)) || deals != tt.deals {
				t.Errorf("weighted %d over %d deals, want %d over %d", total, deals, tt.total, tt.deals)
			}
		})
	}
}
