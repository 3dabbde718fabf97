package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
)

// ContactView is one contact as GET /v1/contacts/{id} shows it: the
// contact, its score, and what its orders say about it as a customer.
// Lists do not show the customer part: it would cost a read per contact.
type ContactView struct {
	core.Contact
	Customer *customers.View `json:"customer,omitempty" readOnly:"true" doc:"The contact as a customer, once it has ordered: its purchase summary (days since the last order computed now), lifecycle state, and RFM and lifetime value when computed. Not part of the ETag: it changes with orders and time, not with the contact."`
}

type contactViewOutput struct {
	ETag string `header:"ETag"`
	Body ContactView
}

// getContact reads a contact, its score and its customer profile in one
// store request. The ETag stays the contact's version, so that it guards
// the contact's updates as before.
func (s *Server) getContact(ctx context.Context, id string) (*contactViewOutput, error) {
	tenant := tenantOf(ctx)
	pk := customers.ProfileKey(tenant, id)
	c, also, err := s.scorer.ContactWith(ctx, tenant, id, pk)
	if err != nil {
		return nil, s.problem(ctx, err, "path")
	}
	out := &contactViewOutput{Body: ContactView{Contact: c}}
	var profileVersion int64
	for _, it := range also {
		if it.Key == pk {
			// A profile that cannot be read is left out: the contact is what
			// was asked for.
			out.Body.Customer, _ = customers.DecodeView(it, s.now())
			profileVersion = it.Version
		}
	}
	// The answer is the contact and what is kept beside it: its ETag
	// changes with either (a cached copy must not be called current after
	// an order), and If-Match still guards the contact's own version.
	var derived []string
	if c.Score != nil {
		derived = append(derived, "s"+strconv.FormatInt(c.Score.At.UnixNano(), 36))
	}
	if v := out.Body.Customer; v != nil {
		days := -1
		if v.Purchases.DaysSinceLastOrder != nil {
			days = *v.Purchases.DaysSinceLastOrder
		}
		derived = append(derived, "p"+strconv.FormatInt(profileVersion, 36)+"."+strconv.Itoa(days))
	}
	out.ETag = derivedETag(c.Version, derived...)
	return out, nil
}

// PurchasesOutput is a contact's whole purchase summary.
type PurchasesOutput struct {
	ContactID          string              `json:"contact_id"`
	DaysSinceLastOrder *int                `json:"days_since_last_order,omitempty" doc:"Whole days since the last counted order, now."`
	Purchases          customers.Purchases `json:"purchases"`
}

// RulesOutput is a tenant's lifecycle rules after a change, and the job
// that applies them to every customer.
type RulesOutput struct {
	LifecycleRules customers.LifecycleRules `json:"rules"`
	JobID          string                   `json:"job_id" doc:"The job that measures the typical gap (relative basis) and moves every customer to its state under the new rules; its progress is at /v1/jobs/{id}."`
}

func (s *Server) registerCustomers() {
	const tag = "Analytics"
	huma.Register(s.api, operation("get-contact-purchases", http.MethodGet, "/v1/contacts/{id}/purchases",
		"A contact's purchase summary with its transaction days (in the tenant's time zone, per currency, with the categories bought)", core.ScopeRead, tag),
		func(ctx context.Context, in *ContactPath) (*struct{ Body PurchasesOutput }, error) {
			tenant := tenantOf(ctx)
			if _, err := s.contacts.Get(ctx, tenant, in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			p, v, err := s.customers.Profile(ctx, tenant, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			out := PurchasesOutput{ContactID: in.ID, Purchases: p.Purchases}
			if view := customers.ViewOf(p, v, s.now()); view != nil {
				out.DaysSinceLastOrder = view.Purchases.DaysSinceLastOrder
			}
			return &struct{ Body PurchasesOutput }{out}, nil
		})

	huma.Register(s.api, operation("get-lifecycle-rules", http.MethodGet, "/v1/customers/lifecycle-rules",
		"The tenant's lifecycle thresholds (the defaults until it sets its own) and the typical gap between purchases last measured", core.ScopeRead, tag),
		func(ctx context.Context, _ *struct{}) (*struct {
			ETag string `header:"ETag"`
			Body customers.LifecycleRules
		}, error) {
			r, err := s.customers.Rules(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &struct {
				ETag string `header:"ETag"`
				Body customers.LifecycleRules
			}{etag(r.Version), r}, nil
		})

	huma.Register(s.api, operation("put-lifecycle-rules", http.MethodPut, "/v1/customers/lifecycle-rules",
		"Replace the lifecycle thresholds: a job then moves every customer to its state under them and reschedules its timer", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			IfMatchHeader
			Body customers.LifecycleRules
		}) (*struct {
			ETag string `header:"ETag"`
			Body RulesOutput
		}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var r customers.LifecycleRules
				var job string
				if r, job, err = s.customers.SetRules(ctx, tenantOf(ctx), in.Body, v); err == nil {
					return &struct {
						ETag string `header:"ETag"`
						Body RulesOutput
					}{etag(r.Version), RulesOutput{LifecycleRules: r, JobID: job}}, nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
}
