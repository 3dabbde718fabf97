package customers

import (
	"context"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Revenue is a sum in one currency, net of refunds.
type Revenue struct {
	Currency string `json:"currency"`
	Amount   int64  `json:"amount" doc:"Minor units, net of refunds."`
	Orders   int    `json:"orders" doc:"Orders in this currency that count."`
	Average  int64  `json:"average_order_value" doc:"Amount / orders, rounded half away from zero; minor units."`
}

// Amount is what a contact's counted orders of one day brought in, in
// one currency, net of refunds; Costed and Cost are the part of Net whose
// lines had a known unit cost and that cost (margin = Costed - Cost).
type Amount struct {
	Currency string `json:"currency"`
	Net      int64  `json:"net"`
	Costed   int64  `json:"costed,omitempty"`
	Cost     int64  `json:"cost,omitempty"`
}

// Day is one transaction day of a contact, in the tenant's time zone:
// orders on the same day are one transaction, as the BTYD models count.
// The days are what the jobs (RFM, CLV, cohorts) compute from, at any
// calibration date, without reading a single order.
type Day struct {
	Date    string   `json:"date"` // 2006-01-02
	Orders  int      `json:"orders"`
	Amounts []Amount `json:"amounts,omitempty"`
	// Categories bought that day, sorted: what segments' ordered(category,
	// within) reads without a query per contact.
	Categories []string `json:"categories,omitempty"`
}

// Purchases is a contact's purchase summary, kept incrementally by the
// consumer of order events. Cancelled and fully refunded orders do not
// count.
type Purchases struct {
	FirstOrderAt time.Time `json:"first_order_at,omitzero"`
	LastOrderAt  time.Time `json:"last_order_at,omitzero"`
	Orders       int       `json:"orders"`
	// TransactionDays counts days (in the tenant's time zone) with at least
	// one counted order, the folded ones included:
	// orders on the same day are one transaction, as the BTYD models count.
	TransactionDays int       `json:"transaction_days"`
	Revenue         []Revenue `json:"revenue,omitempty"`
	Categories      []string  `json:"categories,omitempty" doc:"Categories bought, sorted."`
	// Days are the contact's transaction days, oldest first: at most
	// MaxDays of them, the older ones folded into Earlier.
	Days []Day `json:"days,omitempty"`
	// CategoryOrders counts the counted orders that bought each category,
	// so that a cancelled order's category can go away (at most
	// MaxCategories categories are kept).
	CategoryOrders map[string]int `json:"category_orders,omitempty"`
	// Earlier is what was folded out of Days to bound the profile's size.
	Earlier *Folded `json:"earlier,omitempty"`
}

// Folded is the transaction days taken out of Purchases.Days, oldest
// first, to keep the profile within an item: the days up to Through are
// still counted in TransactionDays (and their orders and revenue in the
// totals), but listed no more.
type Folded struct {
	Through string `json:"through"` // the last folded date, 2006-01-02
	Days    int    `json:"days"`
}

// RFM is a contact's recency, frequency and monetary scores, 1-5 by
// quintiles within its tenant, and the segment they map to.
type RFM struct {
	R       int       `json:"r"`
	F       int       `json:"f"`
	M       int       `json:"m"`
	Segment string    `json:"segment"`
	At      time.Time `json:"at"`
}

// Lifecycle is a contact's customer state and why.
type Lifecycle struct {
	State string    `json:"state" doc:"new, active, dormant, inactive or lost; none once no order counts."`
	Since time.Time `json:"since"`
	Why   string    `json:"why,omitempty"`
	// Next is when time alone will move the state next (zero: never), and
	// TimerID the durable timer that will; a timer that is not this one is
	// stale and does nothing.
	Next    time.Time `json:"next_at,omitzero"`
	TimerID string    `json:"timer_id,omitempty"`
}

// CLV is a contact's lifetime value as the tenant's last fit predicts it.
type CLV struct {
	PAlive               float64   `json:"p_alive"`
	ExpectedTransactions float64   `json:"expected_transactions"`
	ExpectedSpend        float64   `json:"expected_spend" doc:"Per transaction, minor units of Currency."`
	Value                float64   `json:"value" doc:"Over the horizon, discounted; minor units of Currency."`
	Currency             string    `json:"currency"`
	HorizonDays          int       `json:"horizon_days"`
	FitID                string    `json:"fit_id"`
	At                   time.Time `json:"at"`
}

// Profile is one contact as a customer. Each part has one writer: the
// summary consumer, the RFM job, the lifecycle rules, the CLV job.
type Profile struct {
	ContactID string     `json:"contact_id"`
	Purchases Purchases  `json:"purchases"`
	RFM       *RFM       `json:"rfm,omitempty"`
	Lifecycle *Lifecycle `json:"lifecycle,omitempty"`
	CLV       *CLV       `json:"clv,omitempty"`
}

// profiles spreads a tenant's profiles over 8 partitions, as contacts are,
// so that the summary consumer's writes are not bound by one partition;
// jobs list them with store.QueryMerged.
var profiles = store.Collection{Name: "profile", Shards: 8}

// ProfileKey is where a contact's profile is.
func ProfileKey(tenant, contactID string) store.Key {
	return store.Key{PK: profiles.PK(tenant, contactID), SK: contactID}
}

// ProfilePKs are the partitions of a tenant's profiles, for QueryMerged.
func ProfilePKs(tenant string) []string { return profiles.PKs(tenant) }

// ProfileDoc is how profiles are stored.
var ProfileDoc = record.Doc[Profile]{Name: "profile"}

// GetProfile returns a contact's profile and its version; a contact that
// never ordered has an empty one at version 0.
func GetProfile(ctx context.Context, s store.Store, tenant, contactID string) (Profile, int64, error) {
	p, v, err := ProfileDoc.Get(ctx, s, ProfileKey(tenant, contactID))
	if core.ErrorCode(err) == core.CodeNotFound {
		return Profile{ContactID: contactID}, 0, nil
	}
	return p, v, err
}
