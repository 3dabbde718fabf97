package sales

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/money"
)

// Forecast is the weighted value of open deals — amount × win probability —
// in one currency, by month of expected close ("none" without a date),
// owner ("none" without one) and pipeline.
//
// Its sums are exact 128-bit totals (money.Total): a weighted deal fits in
// an int64 of minor units, but two need not, and a report never refuses or
// wraps. In JSON the totals are integers that may lie beyond 2^63−1 (and
// beyond what a float64 holds exactly, from 2^53): readers that need more
// than a figure to show read Weighted, the exact decimal in the currency's
// units at its ISO 4217 exponent.
type Forecast struct {
	Currency   string                 `json:"currency"`
	Total      money.Total            `json:"weighted_minor"`
	Weighted   string                 `json:"weighted,omitempty" pattern:"^-?[0-9]+(\\.[0-9]+)?$" doc:"weighted_minor as an exact decimal at the currency's ISO 4217 exponent (149.01 EUR, 14901 JPY); absent for a code not in ISO 4217 (a deal stored before codes were checked)."`
	ByMonth    map[string]money.Total `json:"by_month"`
	ByOwner    map[string]money.Total `json:"by_owner"`
	ByPipeline map[string]money.Total `json:"by_pipeline"`
	Deals      int                    `json:"open_deals"`
}

// StageReport is how deals moved through one stage.
type StageReport struct {
	Stage string `json:"stage"`
	// Entered counts deals that were ever in the stage; MovedOn those of
	// them that later reached a stage further down the pipeline (won
	// included, lost not).
	Entered    int     `json:"entered"`
	MovedOn    int     `json:"moved_on"`
	Conversion float64 `json:"conversion" doc:"moved_on / entered, 0 when none entered."`
	// AvgDays is the mean time deals spent in the stage before leaving it.
	AvgDays float64 `json:"avg_days_in_stage"`
}

// PipelineReport is a pipeline's conversion, time per stage and win rate.
type PipelineReport struct {
	PipelineID string        `json:"pipeline_id"`
	Stages     []StageReport `json:"stages"`
	Won        int           `json:"won"`
	Lost       int           `json:"lost"`
	Open       int           `json:"open"`
	WinRate    float64       `json:"win_rate" doc:"won / (won + lost), 0 when none closed."`
}

// all reads every deal of a pipeline (or of the tenant, for an empty id).
func (ds *Deals) all(ctx context.Context, tenant, pipeline string) ([]core.Deal, error) {
	var out []core.Deal
	cursor := ""
	for {
		page, next, err := ds.List(ctx, tenant, DealFilter{PipelineID: pipeline}, 200, cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// ForecastRange narrows a forecast to the open deals expected to close
// from From to To, both included (YYYY-MM-DD; an empty bound is open). With
// either bound set, a deal without an expected close date is left out: it
// is not known to close in the range.
type ForecastRange struct {
	From, To string
}

// check holds the range to dates, From no later than To; Path names the
// bound at fault ("from", "to"), for the query parameter of that name.
func (r ForecastRange) check() error {
	var p core.Problems
	for _, b := range []struct{ path, v string }{{"from", r.From}, {"to", r.To}} {
		if b.v == "" {
			continue
		}
		if _, err := time.Parse(time.DateOnly, b.v); err != nil {
			p = append(p, core.FieldError{Path: b.path, Message: "must be a date, YYYY-MM-DD", Value: b.v})
		}
	}
	if err := p.Err(); err != nil {
		return err
	}
	if r.From != "" && r.To != "" && r.From > r.To {
		p = append(p, core.FieldError{Path: "from", Message: "must not be after to (" + r.To + ")", Value: r.From})
	}
	return p.Err()
}

// holds says whether a deal expected to close on date (YYYY-MM-DD, or ""
// without one) is in the range. Dates of that form sort as strings.
func (r ForecastRange) holds(date string) bool {
	if r.From == "" && r.To == "" {
		return true
	}
	return date != "" && (r.From == "" || date >= r.From) && (r.To == "" || date <= r.To)
}

// Forecasts returns one forecast per currency of the tenant's open deals
// expected to close in r.
func (ds *Deals) Forecasts(ctx context.Context, tenant string, r ForecastRange) ([]Forecast, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	deals, err := ds.all(ctx, tenant, "")
	if err != nil {
		return nil, err
	}
	pipelines := map[string]*core.Pipeline{}
	byCurrency := map[string]*Forecast{}
	for i := range deals {
		d := &deals[i]
		if d.Status != core.DealOpen || !r.holds(d.ExpectedClose) {
			continue
		}
		pl, ok := pipelines[d.PipelineID]
		if !ok {
			p, err := ds.pipelines.Get(ctx, tenant, d.PipelineID)
			if err != nil {
				return nil, fmt.Errorf("pipeline of deal %s: %w", d.ID, err)
			}
			pl = &p
			pipelines[d.PipelineID] = pl
		}
		f := byCurrency[d.Currency]
		if f == nil {
			f = &Forecast{Currency: d.Currency, ByMonth: map[string]money.Total{}, ByOwner: map[string]money.Total{}, ByPipeline: map[string]money.Total{}}
			byCurrency[d.Currency] = f
		}
		// Minor units stay integers: the weighted value is rounded half
		// away from zero, once per deal, exactly (a float64 is off by
		// hundreds of units near the int64 limit).
		w, ok := money.Percent(d.AmountMinor, int64(d.WinProbability(&pl.PipelineFields)))
		if !ok {
			return nil, fmt.Errorf("deal %s: %d minor units at %d %% do not fit in int64", d.ID, d.AmountMinor, d.WinProbability(&pl.PipelineFields))
		}
		month, owner := "none", "none"
		if len(d.ExpectedClose) >= 7 {
			month = d.ExpectedClose[:7]
		}
		if d.OwnerID != "" {
			owner = d.OwnerID
		}
		f.Total = f.Total.Add(w)
		f.ByMonth[month] = f.ByMonth[month].Add(w)
		f.ByOwner[owner] = f.ByOwner[owner].Add(w)
		f.ByPipeline[d.PipelineID] = f.ByPipeline[d.PipelineID].Add(w)
		f.Deals++
	}
	out := make([]Forecast, 0, len(byCurrency))
	for _, f := range byCurrency {
		if digits, ok := money.Digits(f.Currency); ok {
			f.Weighted = f.Total.Decimal(digits)
		}
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Currency < out[j].Currency })
	return out, nil
}

// Report returns a pipeline's conversion and time per stage and win rate,
// from its deals' stage histories.
func (ds *Deals) Report(ctx context.Context, tenant, pipelineID string) (PipelineReport, error) {
	pl, err := ds.pipelines.Get(ctx, tenant, pipelineID)
	if err != nil {
		return PipelineReport{}, err
	}
	deals, err := ds.all(ctx, tenant, pipelineID)
	if err != nil {
		return PipelineReport{}, err
	}
	r := PipelineReport{PipelineID: pipelineID}
	index := map[string]int{}
	for i, s := range pl.Stages {
		index[s.ID] = i
	}
	entered := make([]int, len(pl.Stages))
	movedOn := make([]int, len(pl.Stages))
	seconds := make([]int64, len(pl.Stages))
	left := make([]int, len(pl.Stages))
	for _, d := range deals {
		switch d.Status {
		case core.DealWon:
			r.Won++
		case core.DealLost:
			r.Lost++
		default:
			r.Open++
		}
		seen := map[int]bool{}
		furthest := -1 // the furthest stage reached that is not a lost one
		for _, c := range d.History {
			i, ok := index[c.To]
			if !ok {
				continue // a stage since removed
			}
			seen[i] = true
			if pl.Stages[i].Kind != core.StageKindLost {
				furthest = max(furthest, i)
			}
			if j, ok := index[c.From]; ok && c.From != "" {
				seconds[j] += c.SecondsInFrom
				left[j]++
			}
		}
		for i := range seen {
			entered[i]++
			if furthest > i {
				movedOn[i]++
			}
		}
	}
	for i, s := range pl.Stages {
		sr := StageReport{Stage: s.ID, Entered: entered[i], MovedOn: movedOn[i]}
		if entered[i] > 0 {
			sr.Conversion = float64(movedOn[i]) / float64(entered[i])
		}
		if left[i] > 0 {
			sr.AvgDays = float64(seconds[i]) / float64(left[i]) / 86400
		}
		r.Stages = append(r.Stages, sr)
	}
	if r.Won+r.Lost > 0 {
		r.WinRate = float64(r.Won) / float64(r.Won+r.Lost)
	}
	return r, nil
}
