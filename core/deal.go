package core

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fedele-crm/fedele/core/money"
)

// StageKind is what a pipeline stage means for the deals in it: a deal in
// an open stage is in the forecast; won and lost stages close it. It is not
// a contact's lifecycle Stage, nor a deal's outcome, though it decides one.
type StageKind string

const (
	StageKindOpen StageKind = "open"
	StageKindWon  StageKind = "won"
	StageKindLost StageKind = "lost"
)

// StageKinds lists every kind of pipeline stage.
var StageKinds = []StageKind{StageKindOpen, StageKindWon, StageKindLost}

// DealOutcome is where a deal stands: open until it closes won or lost.
// It follows the kind of the deal's stage (StageKind.Outcome) and names the
// event a deal's closing writes (deal.won, deal.lost).
type DealOutcome string

const (
	DealOpen DealOutcome = "open"
	DealWon  DealOutcome = "won"
	DealLost DealOutcome = "lost"
)

// DealOutcomes lists every outcome of a deal.
var DealOutcomes = []DealOutcome{DealOpen, DealWon, DealLost}

// Outcome is the outcome of a deal in a stage of kind k.
func (k StageKind) Outcome() DealOutcome {
	switch k {
	case StageKindWon:
		return DealWon
	case StageKindLost:
		return DealLost
	}
	return DealOpen
}

// PipelineStage is one step of a pipeline.
type PipelineStage struct {
	ID          string    `json:"id" pattern:"^[a-z0-9][a-z0-9_-]{0,62}$" doc:"Stable within the pipeline; deals name their stage by it."`
	Name        string    `json:"name" minLength:"1" maxLength:"100"`
	Probability int       `json:"probability" minimum:"0" maximum:"100" doc:"Default win probability of a deal in this stage, in percent."`
	Kind        StageKind `json:"kind,omitempty" doc:"open when absent."`
}

// PipelineFields is the part of a pipeline its writers set.
type PipelineFields struct {
	Name   string          `json:"name" minLength:"1" maxLength:"200"`
	Stages []PipelineStage `json:"stages" minItems:"2" maxItems:"30" doc:"In order; at least one won and one lost stage."`
}

// Pipeline is an ordered sequence of stages deals move through.
type Pipeline struct {
	Meta
	PipelineFields
}

var stageIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Normalize validates a pipeline: stage ids unique, probabilities 0-100,
// won stages at 100, lost at 0, and at least one of each.
func (f *PipelineFields) Normalize() error {
	var p Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		p.Add("name", "is required")
	}
	checkText(&p, "name", f.Name, 200)
	if len(f.Stages) < 2 || len(f.Stages) > 30 {
		p.Add("stages", "a pipeline has 2 to 30 stages")
	}
	seen := map[string]bool{}
	won, lost := 0, 0
	for i := range f.Stages {
		s := &f.Stages[i]
		at := fmt.Sprintf("stages[%d]", i)
		if !stageIDPattern.MatchString(s.ID) {
			p = append(p, FieldError{Path: at + ".id", Message: "must be 1-63 lower-case letters, digits, dashes or underscores", Value: s.ID})
		} else if seen[s.ID] {
			p = append(p, FieldError{Path: at + ".id", Message: "is used by an earlier stage", Value: s.ID})
		}
		seen[s.ID] = true
		s.Name = strings.TrimSpace(s.Name)
		if s.Name == "" {
			p.Add(at+".name", "is required")
		}
		checkText(&p, at+".name", s.Name, 100)
		if s.Kind == "" {
			s.Kind = StageKindOpen
		}
		switch s.Kind {
		case StageKindWon:
			won++
			if s.Probability != 100 {
				p = append(p, FieldError{Path: at + ".probability", Message: "a won stage is 100", Value: s.Probability})
			}
		case StageKindLost:
			lost++
			if s.Probability != 0 {
				p = append(p, FieldError{Path: at + ".probability", Message: "a lost stage is 0", Value: s.Probability})
			}
		case StageKindOpen:
			if s.Probability < 0 || s.Probability > 100 {
				p = append(p, FieldError{Path: at + ".probability", Message: "must be between 0 and 100", Value: s.Probability})
			}
		default:
			p = append(p, FieldError{Path: at + ".kind", Message: "must be open, won or lost", Value: s.Kind})
		}
	}
	if len(f.Stages) >= 2 && (won == 0 || lost == 0) {
		p.Add("stages", "needs at least one won and one lost stage")
	}
	return p.Err()
}

// Stage returns the stage with id.
func (f *PipelineFields) Stage(id string) (PipelineStage, int, bool) {
	i := slices.IndexFunc(f.Stages, func(s PipelineStage) bool { return s.ID == id })
	if i < 0 {
		return PipelineStage{}, -1, false
	}
	return f.Stages[i], i, true
}

// LineItem is a product on a deal.
type LineItem struct {
	Product        string `json:"product" minLength:"1" maxLength:"200"`
	Quantity       int64  `json:"quantity" minimum:"1" maximum:"1000000"`
	UnitPriceMinor int64  `json:"unit_price_minor" minimum:"0" doc:"In minor units of currency."`
	DiscountMinor  int64  `json:"discount_minor,omitempty" minimum:"0" doc:"Off the line's total, in minor units."`
	Currency       string `json:"currency" pattern:"^[A-Z]{3}$" doc:"ISO 4217; the deal's."`
}

// Total is the line's amount after its discount, and false when quantity ×
// unit price does not fit in an int64 of minor units.
func (l LineItem) Total() (int64, bool) {
	gross, ok := money.Mul(l.Quantity, l.UnitPriceMinor)
	if !ok {
		return 0, false
	}
	return money.Sub(gross, l.DiscountMinor)
}

// beyondMax is the message of an amount an int64 of minor units cannot hold.
var beyondMax = fmt.Sprintf("the largest amount is %d minor units", money.MaxMinor)

// DealFields is the part of a deal its writers set.
type DealFields struct {
	Name          string     `json:"name" minLength:"1" maxLength:"200"`
	PipelineID    string     `json:"pipeline_id" doc:"A pipeline of the same tenant."`
	Stage         string     `json:"stage" doc:"The id of one of the pipeline's stages."`
	AmountMinor   int64      `json:"amount_minor" required:"false" minimum:"0" doc:"In minor units; the sum of the line items when there are any (absent: computed from them)."`
	Currency      string     `json:"currency" pattern:"^[A-Z]{3}$" doc:"A current ISO 4217 code; amounts are in its minor units (2 digits for EUR, 0 for JPY, 3 for KWD). It changes only with the amount (amount_minor or line_items) in the same change."`
	Probability   *int       `json:"probability,omitempty" minimum:"0" maximum:"100" doc:"Overrides the stage's default win probability."`
	ExpectedClose string     `json:"expected_close,omitempty" format:"date" doc:"YYYY-MM-DD"`
	CloseDate     string     `json:"close_date,omitempty" format:"date" doc:"YYYY-MM-DD; required in a won or lost stage."`
	LostReason    string     `json:"lost_reason,omitempty" maxLength:"500" doc:"Required in a lost stage."`
	OwnerID       string     `json:"owner_id,omitempty" doc:"A user of the team."`
	ContactID     string     `json:"contact_id,omitempty" doc:"A contact of the same tenant."`
	CompanyID     string     `json:"company_id,omitempty" doc:"A company of the same tenant."`
	LineItems     []LineItem `json:"line_items,omitempty" maxItems:"100"`
}

// StageChange is one move of a deal between stages.
type StageChange struct {
	From          string    `json:"from,omitempty" doc:"Empty for the stage it was created in."`
	To            string    `json:"to"`
	At            time.Time `json:"at"`
	By            string    `json:"by,omitempty" doc:"Who moved it: the key, subject or automation."`
	SecondsInFrom int64     `json:"seconds_in_from,omitempty" doc:"How long it had been in From."`
}

// Deal is an opportunity moving through a pipeline.
type Deal struct {
	Meta
	DealFields
	// Status follows the stage's kind (StageKind.Outcome).
	Status  DealOutcome   `json:"status"`
	History []StageChange `json:"stage_history" doc:"Every stage it has been in, oldest first."`
}

var currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)

// MaxQuantity bounds a line item's quantity.
const MaxQuantity = 1_000_000

// MaxStageHistory bounds a deal's recorded stage changes.
const MaxStageHistory = 200

// Normalize validates a deal against its pipeline: a known stage, the
// closing rules of won and lost stages, and line items in the deal's
// currency that sum to its amount.
func (f *DealFields) Normalize(pl *PipelineFields) error {
	var p Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" {
		p.Add("name", "is required")
	}
	checkText(&p, "name", f.Name, 200)
	stage, _, ok := pl.Stage(f.Stage)
	if !ok {
		ids := make([]string, len(pl.Stages))
		for i, s := range pl.Stages {
			ids[i] = s.ID
		}
		p = append(p, FieldError{Path: "stage", Message: "must be one of the pipeline's stages: " + strings.Join(ids, ", "), Value: f.Stage})
	}
	if !currencyPattern.MatchString(f.Currency) {
		p = append(p, FieldError{Path: "currency", Message: "must be an ISO 4217 code such as EUR", Value: f.Currency})
	} else if _, ok := money.Digits(f.Currency); !ok {
		p = append(p, FieldError{Path: "currency", Message: "is not a current ISO 4217 currency", Value: f.Currency})
	}
	if f.AmountMinor < 0 {
		p = append(p, FieldError{Path: "amount_minor", Message: "must not be negative", Value: f.AmountMinor})
	}
	if f.Probability != nil && (*f.Probability < 0 || *f.Probability > 100) {
		p = append(p, FieldError{Path: "probability", Message: "must be between 0 and 100", Value: *f.Probability})
	}
	for path, d := range map[string]string{"expected_close": f.ExpectedClose, "close_date": f.CloseDate} {
		if d != "" {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				p = append(p, FieldError{Path: path, Message: "must be a date, YYYY-MM-DD", Value: d})
			}
		}
	}
	if ok && stage.Kind != StageKindOpen && f.CloseDate == "" {
		p.Add("close_date", "a %s deal needs its close date", stage.Kind)
	}
	f.LostReason = strings.TrimSpace(f.LostReason)
	if ok && stage.Kind == StageKindLost && f.LostReason == "" {
		p.Add("lost_reason", "a lost deal needs a reason")
	}
	checkText(&p, "lost_reason", f.LostReason, 500)
	for path, id := range map[string]string{"owner_id": f.OwnerID, "contact_id": f.ContactID, "company_id": f.CompanyID, "pipeline_id": f.PipelineID} {
		if id != "" && !ValidID(id) {
			p = append(p, FieldError{Path: path, Message: "must be an id (ULID)", Value: id})
		}
	}
	if len(f.LineItems) > 0 {
		var total int64
		totalOK := true
		for i, l := range f.LineItems {
			at := fmt.Sprintf("line_items[%d]", i)
			l.Product = strings.TrimSpace(l.Product)
			f.LineItems[i].Product = l.Product
			if l.Product == "" {
				p.Add(at+".product", "is required")
			}
			if l.Quantity < 1 || l.Quantity > MaxQuantity {
				p = append(p, FieldError{Path: at + ".quantity", Message: fmt.Sprintf("must be between 1 and %d", MaxQuantity), Value: l.Quantity})
			}
			if l.Currency != f.Currency {
				p = append(p, FieldError{Path: at + ".currency", Message: "must be the deal's currency, " + f.Currency, Value: l.Currency})
			}
			if l.UnitPriceMinor < 0 || l.DiscountMinor < 0 {
				p.Add(at, "prices and discounts must not be negative")
				totalOK = false
				continue
			}
			line, ok := l.Total()
			switch {
			case !ok:
				p = append(p, FieldError{Path: at + ".unit_price_minor", Message: "quantity × unit price is more than " + beyondMax, Value: l.UnitPriceMinor})
				totalOK = false
				continue
			case line < 0:
				p.Add(at+".discount_minor", "is more than the line's total")
			}
			if !totalOK {
				continue
			}
			if total, ok = money.Add(total, line); !ok {
				p = append(p, FieldError{Path: at + ".unit_price_minor", Message: "brings the line items' total over " + beyondMax, Value: l.UnitPriceMinor})
				totalOK = false
			}
		}
		// Without a total (a line at fault is named above) there is nothing
		// to compare the amount with.
		switch {
		case !totalOK:
		case f.AmountMinor == 0:
			f.AmountMinor = total
		case f.AmountMinor != total:
			p = append(p, FieldError{Path: "amount_minor", Message: fmt.Sprintf("must be the line items' total, %d, or absent", total), Value: f.AmountMinor})
		}
	}
	return p.Err()
}

// WinProbability is the deal's override, or its stage's default.
func (d *Deal) WinProbability(pl *PipelineFields) int {
	if d.Probability != nil {
		return *d.Probability
	}
	s, _, _ := pl.Stage(d.Stage)
	return s.Probability
}
