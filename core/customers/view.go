package customers

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core/store"
)

// View is a contact as a customer, as GET /v1/contacts/{id} shows it
// (read-only): the purchase summary without its days, with the days since
// the last order computed at read time — it changes with time alone, so
// it is never stored — and the other parts when their writers have run.
type View struct {
	Purchases PurchasesView  `json:"purchases"`
	Lifecycle *LifecycleView `json:"lifecycle,omitempty"`
	RFM       *RFM           `json:"rfm,omitempty"`
	CLV       *CLV           `json:"clv,omitempty"`
}

// PurchasesView is the summary as shown.
type PurchasesView struct {
	Orders             int       `json:"orders" doc:"Counted orders: not cancelled, not refunded in full."`
	TransactionDays    int       `json:"transaction_days" doc:"Days with at least one counted order, in the tenant's time zone."`
	FirstOrderAt       time.Time `json:"first_order_at,omitzero"`
	LastOrderAt        time.Time `json:"last_order_at,omitzero"`
	DaysSinceLastOrder *int      `json:"days_since_last_order,omitempty" doc:"Whole days since the last counted order, now."`
	Revenue            []Revenue `json:"revenue" doc:"Per currency, net of refunds, with the average order value."`
	Categories         []string  `json:"categories" doc:"Categories bought, sorted."`
}

// LifecycleView is the lifecycle state as shown.
type LifecycleView struct {
	State  State     `json:"state"` // States
	Since  time.Time `json:"since"`
	Why    string    `json:"why,omitempty"`
	NextAt time.Time `json:"next_at,omitzero" doc:"When time alone moves the state next, unless an order comes first."`
}

// ViewOf is how p shows at now; nil for a contact that never ordered.
func ViewOf(p Profile, version int64, now time.Time) *View {
	if version == 0 {
		return nil
	}
	pu := p.Purchases
	v := &View{RFM: p.RFM, CLV: p.CLV, Purchases: PurchasesView{Orders: pu.Orders, TransactionDays: pu.TransactionDays,
		FirstOrderAt: pu.FirstOrderAt, LastOrderAt: pu.LastOrderAt, Revenue: pu.Revenue, Categories: pu.Categories}}
	if v.Purchases.Revenue == nil {
		v.Purchases.Revenue = []Revenue{}
	}
	if v.Purchases.Categories == nil {
		v.Purchases.Categories = []string{}
	}
	if !pu.LastOrderAt.IsZero() {
		d := max(int(now.Sub(pu.LastOrderAt)/(24*time.Hour)), 0)
		v.Purchases.DaysSinceLastOrder = &d
	}
	if l := p.Lifecycle; l != nil {
		v.Lifecycle = &LifecycleView{State: State(l.State), Since: l.Since, Why: l.Why, NextAt: l.Next}
	}
	return v
}

// DecodeView reads the profile item a batch read returned beside the
// contact (at ProfileKey) and shows it at now.
func DecodeView(it store.Item, now time.Time) (*View, error) {
	p, err := ProfileDoc.Decode(it)
	if err != nil {
		return nil, err
	}
	return ViewOf(p, it.Version, now), nil
}

// Profile returns a contact's whole profile (the days included) and its
// version, for GET /v1/contacts/{id}/purchases.
func (c *Customers) Profile(ctx context.Context, tenant, contactID string) (Profile, int64, error) {
	return GetProfile(ctx, c.store, tenant, contactID)
}

// Now is the service's clock, for views computed at read time.
func (c *Customers) Now() time.Time { return c.now() }

// OrdersSummary is the score and campaign contracts' "orders": the count
// of counted orders, and the revenue and last order in the contact's main
// currency (the one with most orders).
type OrdersSummary struct {
	Count       int64      `json:"count"`
	TotalMinor  int64      `json:"total_minor"`
	Currency    string     `json:"currency,omitempty"`
	LastOrderAt *time.Time `json:"last_order_at"`
}

// ContractOrders is p's orders as the plugin contracts send them.
func ContractOrders(p Purchases) OrdersSummary {
	s := OrdersSummary{Count: int64(p.Orders)}
	if r, ok := mainCurrency(p); ok {
		s.TotalMinor, s.Currency = max(r.Amount, 0), r.Currency
	}
	if !p.LastOrderAt.IsZero() {
		at := p.LastOrderAt
		s.LastOrderAt = &at
	}
	return s
}
