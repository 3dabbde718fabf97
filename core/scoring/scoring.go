// Package scoring scores contacts: the tenant's active score plugin decides
// when it has one, and the built-in scorer when it has none or the plugin
// fails. It builds the score contract's records from the CRM's own data,
// so a plugin sees a contact exactly as the API returns it.
//
// It must never let a plugin's failure fail a caller: plugins.Decide
// always answers.
package scoring

import (
	"context"
	"fmt"
	"slices"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/core/plugins"
)

// Record is one contact as the score contract sends it
// (schemas/plugins/score.input.json).
type Record struct {
	Contact core.Contact  `json:"contact"`
	Company *core.Company `json:"company"`
}

// Result is a score as the score contract answers it.
type Result struct {
	Score   int      `json:"score"`
	Reasons []string `json:"reasons,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// Builtin is the scorer of a tenant without a score plugin, and the
// fallback of one whose plugin fails: fit from the contact's reachability,
// lifecycle stage and company size.
func Builtin(r Record) Result {
	var res Result
	c := r.Contact
	if len(c.Emails) > 0 {
		res.Score += 15
	}
	if len(c.Phones) > 0 {
		res.Score += 10
	}
	switch c.LifecycleStage {
	case core.StageMQL:
		res.Score += 20
		res.Reasons = append(res.Reasons, "marketing qualified")
	case core.StageSQL:
		res.Score += 30
		res.Reasons = append(res.Reasons, "sales qualified")
	case core.StageCustomer:
		res.Score += 25
		res.Tags = append(res.Tags, "customer")
	}
	if co := r.Company; co != nil {
		switch {
		case slices.Contains([]string{"1001-5000", "5001-10000", "10001+"}, co.Size):
			res.Score += 30
			res.Tags = append(res.Tags, "enterprise")
		case co.Size != "" && co.Size != "1-10":
			res.Score += 15
		}
	}
	res.Score = min(res.Score, 100)
	return res
}

// Scorer scores a tenant's contacts.
type Scorer struct {
	contacts  *crm.Contacts
	companies *crm.Companies
	runner    *plugins.Runner
}

// NewScorer returns a scorer; runner may be nil for a host without plugins.
func NewScorer(contacts *crm.Contacts, companies *crm.Companies, runner *plugins.Runner) *Scorer {
	return &Scorer{contacts: contacts, companies: companies, runner: runner}
}

// Scored is a contact's score and who decided it.
type Scored struct {
	ContactID string              `json:"contact_id"`
	Result                        // the score, its reasons and tags
	DecidedBy string              `json:"decided_by" enum:"plugin,builtin"`
	Plugin    *plugins.Ref        `json:"plugin,omitempty" doc:"The active score plugin that ran, if one did."`
	Failure   *plugins.RunFailure `json:"plugin_failure,omitempty" doc:"Why the plugin's answer was not used, if it was not."`
}

// Score scores one contact now.
func (s *Scorer) Score(ctx context.Context, tenant, contactID string) (Scored, error) {
	c, err := s.contacts.Get(ctx, tenant, contactID)
	if err != nil {
		return Scored{}, err
	}
	rec := Record{Contact: c}
	if c.CompanyID != "" {
		co, err := s.companies.Get(ctx, tenant, c.CompanyID)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return Scored{}, fmt.Errorf("load company of contact %s: %w", contactID, err)
		}
		if err == nil {
			rec.Company = &co
		}
	}
	out := Scored{ContactID: c.ID, DecidedBy: "builtin"}
	if s.runner == nil {
		out.Result = Builtin(rec)
		return out, nil
	}
	results, o := plugins.Decide(ctx, s.runner, tenant, plugins.KindScore, []Record{rec}, Builtin)
	out.Result = results[0]
	if o.Plugin != nil {
		out.Plugin = &plugins.Ref{Name: o.Plugin.Name, Version: o.Plugin.Version}
	}
	if o.ByPlugin[0] {
		out.DecidedBy = "plugin"
	}
	if f := o.Failure; f != nil {
		out.Failure = &plugins.RunFailure{Class: f.Class, Message: f.Message, PluginError: f.PluginError}
	}
	return out, nil
}
