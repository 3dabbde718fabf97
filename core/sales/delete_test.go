package sales_test

import (
	"context"
	"testing"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/sales"
	"github.com/fedele-crm/fedele/core/store/memstore"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
)

// Deleting a deal checks no reference: the records it names may be gone
// already, and a delete that compared the deal with an empty one once
// checked a pipeline with an empty id and failed every time.
func TestDeleteDealWhoseReferencesAreGone(t *testing.T) {
	ctx := context.Background()
	st := memstore.New()
	t.Cleanup(func() { st.Close() })
	clock := func() time.Time { return time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC) }
	pipelines := sales.NewPipelines(st, clock)
	deals := sales.NewDeals(st, pipelines, clock)
	users := team.NewUsers(st, clock)
	tenants := tenancy.NewTenants(st, clock)
	if _, err := tenants.Create(ctx, "acme", "Acme", "US"); err != nil {
		t.Fatal(err)
	}
	people := contacts.NewContacts(st, tenants, clock)

	p, err := pipelines.Create(ctx, "acme", core.PipelineFields{Name: "P", Stages: []core.PipelineStage{
		{ID: "lead", Name: "Lead", Probability: 10},
		{ID: "won", Name: "Won", Probability: 100, Kind: core.StageKindWon},
		{ID: "lost", Name: "Lost", Kind: core.StageKindLost},
	}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := users.Create(ctx, "acme", core.UserFields{Name: "Rep", Email: "rep@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := people.Create(ctx, "acme", core.ContactFields{FirstName: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	d, err := deals.Create(ctx, "acme", core.DealFields{Name: "D", PipelineID: p.ID, Stage: "lead", AmountMinor: 100, Currency: "EUR",
		OwnerID: u.ID, ContactID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Delete(ctx, "acme", u.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := people.Delete(ctx, "acme", c.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := deals.Delete(ctx, "acme", d.ID, 1); err != nil {
		t.Fatalf("delete a deal whose owner and contact are gone: %v", err)
	}
	if _, err := deals.Get(ctx, "acme", d.ID); core.ErrorCode(err) != core.CodeNotFound {
		t.Errorf("get after delete: %v, want not found", err)
	}
}
