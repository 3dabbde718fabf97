package customers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/btyd"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// JobCLVFit is the kind of the job that refits a tenant's lifetime values.
const JobCLVFit = "clv_fit"

// CLVUnit is the unit of time a CLV fit counts in.
type CLVUnit string

const (
	CLVDay  CLVUnit = "day"
	CLVWeek CLVUnit = "week"
)

// CLVUnits lists every unit of a CLV fit.
var CLVUnits = []CLVUnit{CLVDay, CLVWeek}

func (u CLVUnit) days() float64 {
	if u == CLVWeek {
		return 7
	}
	return 1
}

// Defaults and bounds of a CLV fit's parameters.
const (
	DefaultCLVHorizonDays = 365
	MaxCLVHorizonDays     = 3650
	// DefaultCLVDiscountRate is the annual discount rate when none is
	// given: 10 %, a common cost of capital for a retailer's planning.
	DefaultCLVDiscountRate = 0.10
)

// CLVParams is what a CLV fit is started with; Start fills the defaults,
// so that a job's params say what it did.
type CLVParams struct {
	AsOf         time.Time `json:"as_of,omitzero" doc:"Calibration end: purchases after it are ignored. Now when absent; never in the future."`
	Unit         CLVUnit   `json:"unit,omitempty" doc:"The unit of time the model counts in (day by default). Weeks smooth out weekly buying rhythms."`
	HorizonDays  int       `json:"horizon_days,omitempty" doc:"Days ahead the expected transactions and value are over; 365 by default, at most 3650." minimum:"1" maximum:"3650"`
	DiscountRate *float64  `json:"discount_rate,omitempty" doc:"Annual discount rate of future value, 0 to 1; 0.10 by default." minimum:"0" maximum:"1"`
	Currency     string    `json:"currency,omitempty" doc:"ISO 4217 currency of spend and value; by default the one most customers bought in." pattern:"^[A-Z]{3}$"`
}

// CLVFitStatus is where a fit stands.
type CLVFitStatus string

const (
	CLVFitWriting CLVFitStatus = "writing"
	CLVFitDone    CLVFitStatus = "done"
)

// CLVFitStatuses lists every status of a fit.
var CLVFitStatuses = []CLVFitStatus{CLVFitWriting, CLVFitDone}

// CLVQuantile is one quantile of the contacts' values.
type CLVQuantile struct {
	Q     float64 `json:"q" doc:"0.1 is the value 10 % of contacts are below."`
	Value float64 `json:"value" doc:"Minor units of the fit's currency; within 1 % (values are binned)."`
}

// CLVFit is one fit of a tenant's customer base and what it predicted.
type CLVFit struct {
	ID           string       `json:"id" doc:"The id of the job that made it."`
	Status       CLVFitStatus `json:"status" doc:"writing while contacts' values are being stored; done once every contact has this fit's."`
	AsOf         time.Time    `json:"as_of"`
	AsOfDate     string       `json:"as_of_date" doc:"as_of's day in the tenant's time zone: the last day of purchases counted."`
	Unit         CLVUnit      `json:"unit"`
	HorizonDays  int          `json:"horizon_days"`
	DiscountRate float64      `json:"discount_rate"`
	Currency     string       `json:"currency"`
	// Customers and Repeaters are those of the BG/NBD fit.
	Customers  int                `json:"customers" doc:"Customers with a first purchase by as_of."`
	Repeaters  int                `json:"repeaters" doc:"Of them, those who bought on more than one day."`
	BGNBD      btyd.BGNBDFit      `json:"bgnbd" doc:"Purchase frequency and drop-out; alpha is in the fit's unit."`
	GammaGamma btyd.GammaGammaFit `json:"gamma_gamma" doc:"Spend per transaction, in minor units of currency."`
	Contacts   int                `json:"contacts" doc:"Contacts whose value this fit wrote."`
	TotalValue float64            `json:"total_value" doc:"Sum of the contacts' values, minor units."`
	Quantiles  []CLVQuantile      `json:"quantiles,omitempty"`
	StartedAt  time.Time          `json:"started_at"`
	FinishedAt time.Time          `json:"finished_at,omitzero"`
}

// Step sizes of a CLV job: profiles per page. A read page is a query and
// some arithmetic; a write page is one put per profile, 8 at a time.
const (
	clvReadPage  = 250
	clvWritePage = 200
	clvWriters   = 8
)

// clvMonthDays is the step of the value's discounting: an average month.
const clvMonthDays = 365.25 / 12

var (
	clvFitDoc    = record.Doc[CLVFit]{Name: "clv fit"}
	clvLatestDoc = record.Doc[clvLatest]{Name: "clv latest"}
	clvChunkDoc  = record.Doc[clvChunk]{Name: "clv chunk", TTL: func(c *clvChunk) time.Time { return c.Expires }}
)

type clvLatest struct {
	FitID string `json:"fit_id"`
}

// clvChunk is what one read step found: the page's customers compressed.
// Chunks are documents of their own, not job state, so that the state
// stays small however many customers there are; the fit step merges them.
type clvChunk struct {
	Rows []btyd.Row `json:"rows,omitempty"`
	// Spend is the Gamma-Gamma input by currency; Buyers counts the
	// customers who bought in each currency (the default currency).
	Spend   map[string][]btyd.SpendRow `json:"spend,omitempty"`
	Buyers  map[string]int             `json:"buyers,omitempty"`
	Expires time.Time                  `json:"expires"`
}

func clvFitKey(tenant, id string) store.Key { return store.Tenant(tenant).Key(id, "clv-fit") }
func clvLatestKey(tenant string) store.Key {
	return store.Tenant(tenant).Key("latest", "clv-fit-latest")
}
func clvChunkPK(tenant, jobID string) string {
	return store.Tenant(tenant).PK("clv-chunk", jobID)
}

// clvState is where the next step of a CLV job starts.
type clvState struct {
	Phase    string `json:"phase"` // read, fit, write
	Cursor   string `json:"cursor,omitempty"`
	Chunk    int    `json:"chunk"`
	AsOfDate string `json:"as_of_date"`
	// Set by the fit step.
	Model    btyd.BGNBD      `json:"model"`
	Spend    btyd.GammaGamma `json:"spend"`
	Currency string          `json:"currency,omitempty"`
	// Bins counts the values written by bin (clvBin), for the quantiles.
	Bins    map[int]int `json:"bins,omitempty"`
	Total   float64     `json:"total,omitempty"`
	Written int         `json:"written,omitempty"`
}

// CLVFits refits lifetime values as core/jobs jobs and keeps the fits.
type CLVFits struct {
	store store.Store
	jobs  *jobs.Service
	zone  func(ctx context.Context, tenant string) (*time.Location, error)
	now   func() time.Time
}

// NewCLVFits registers the clv_fit kind on js; zone answers a tenant's
// time zone (whose days the transaction days are in).
func NewCLVFits(s store.Store, js *jobs.Service, zone func(ctx context.Context, tenant string) (*time.Location, error), now func() time.Time) *CLVFits {
	f := &CLVFits{store: s, jobs: js, zone: zone, now: now}
	js.Register(jobs.Kind{Name: JobCLVFit, Step: f.step})
	return f
}

// Start validates p, fills its defaults and starts a fit job.
func (f *CLVFits) Start(ctx context.Context, tenant string, p CLVParams) (jobs.Job, error) {
	p, err := f.checkParams(p)
	if err != nil {
		return jobs.Job{}, err
	}
	return f.jobs.Start(ctx, tenant, JobCLVFit, p)
}

func (f *CLVFits) checkParams(p CLVParams) (CLVParams, error) {
	var probs core.Problems
	now := f.now().UTC()
	switch {
	case p.AsOf.IsZero():
		p.AsOf = now.Truncate(time.Second)
	case p.AsOf.After(now):
		probs.Add("as_of", "must not be in the future (now is %s)", now.Format(time.RFC3339))
	}
	p.AsOf = p.AsOf.UTC()
	switch p.Unit {
	case "":
		p.Unit = CLVDay
	case CLVDay, CLVWeek:
	default:
		probs.Add("unit", "must be day or week")
	}
	switch {
	case p.HorizonDays == 0:
		p.HorizonDays = DefaultCLVHorizonDays
	case p.HorizonDays < 0 || p.HorizonDays > MaxCLVHorizonDays:
		probs.Add("horizon_days", "must be 1 to %d", MaxCLVHorizonDays)
	}
	if p.DiscountRate == nil {
		r := DefaultCLVDiscountRate
		p.DiscountRate = &r
	} else if !(*p.DiscountRate >= 0 && *p.DiscountRate <= 1) {
		probs.Add("discount_rate", "must be 0 to 1")
	}
	if _, ok := money.Digits(p.Currency); p.Currency != "" && !ok {
		probs.Add("currency", "must be a current ISO 4217 code")
	}
	return p, probs.Err()
}

// Get returns a fit by id; another tenant's is not found.
func (f *CLVFits) Get(ctx context.Context, tenant, id string) (CLVFit, error) {
	if !core.ValidID(id) {
		return CLVFit{}, core.Errorf(core.CodeNotFound, "clv fit %s not found", id)
	}
	fit, _, err := clvFitDoc.Get(ctx, f.store, clvFitKey(tenant, id))
	if core.ErrorCode(err) == core.CodeNotFound {
		return fit, core.Errorf(core.CodeNotFound, "clv fit %s not found", id)
	}
	return fit, err
}

// Latest returns the tenant's last completed fit.
func (f *CLVFits) Latest(ctx context.Context, tenant string) (CLVFit, error) {
	l, _, err := clvLatestDoc.Get(ctx, f.store, clvLatestKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return CLVFit{}, core.Errorf(core.CodeNotFound, "no clv fit has completed yet")
	}
	if err != nil {
		return CLVFit{}, err
	}
	return f.Get(ctx, tenant, l.FitID)
}

// step runs one step of a CLV job: read pages, then the fit, then write
// pages.
func (f *CLVFits) step(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var p CLVParams
	if err := json.Unmarshal(j.Params, &p); err != nil {
		return nil, false, nil, fmt.Errorf("clv job %s: decode params: %w", j.ID, err)
	}
	var st clvState
	if raw == nil {
		loc, err := f.zone(ctx, tenant)
		if err != nil {
			return nil, false, nil, fmt.Errorf("clv job %s: tenant time zone: %w", j.ID, err)
		}
		st = clvState{Phase: "read", AsOfDate: p.AsOf.In(loc).Format(time.DateOnly)}
	} else if err := json.Unmarshal(raw, &st); err != nil {
		return nil, false, nil, fmt.Errorf("clv job %s: decode state: %w", j.ID, err)
	}
	var writes []store.Write
	var done bool
	var err error
	switch st.Phase {
	case "read":
		writes, err = f.read(ctx, tenant, j, p, &st)
	case "fit":
		writes, err = f.fit(ctx, tenant, j, p, &st)
	case "write":
		writes, done, err = f.write(ctx, tenant, j, p, &st)
	default:
		err = fmt.Errorf("clv job %s: unknown phase %q", j.ID, st.Phase)
	}
	if err != nil {
		return nil, false, nil, err
	}
	next, err := json.Marshal(st)
	return next, done, writes, err
}

// read summarises one page of profiles into a chunk.
func (f *CLVFits) read(ctx context.Context, tenant string, j *jobs.Job, p CLVParams, st *clvState) ([]store.Write, error) {
	page, err := store.QueryMerged(ctx, f.store, store.Query{}, ProfilePKs(tenant), clvReadPage, st.Cursor)
	if err != nil {
		return nil, fmt.Errorf("clv job %s: list profiles: %w", j.ID, record.StoreError(err))
	}
	var sum btyd.Summary
	chunk := clvChunk{Spend: map[string][]btyd.SpendRow{}, Buyers: map[string]int{}, Expires: f.now().Add(jobs.Keep)}
	spend := map[string]*btyd.Summary{}
	for _, it := range page.Items {
		prof, err := ProfileDoc.Decode(it)
		if err != nil {
			return nil, err
		}
		c, ok := clvCustomer(prof.Purchases, st.AsOfDate, p.Unit)
		if !ok {
			continue
		}
		if err := sum.Add(c.Customer); err != nil {
			return nil, fmt.Errorf("clv job %s: profile %s: %w", j.ID, prof.ContactID, err)
		}
		for cur, s := range c.spend {
			if spend[cur] == nil {
				spend[cur] = &btyd.Summary{}
			}
			chunk.Buyers[cur]++
			if s.X > 0 && s.Spend > 0 {
				if err := spend[cur].Merge(btyd.Summary{Spend: []btyd.SpendRow{{X: s.X, Spend: roundSignificant(s.Spend, 4), Count: 1}}}); err != nil {
					return nil, fmt.Errorf("clv job %s: profile %s: %w", j.ID, prof.ContactID, err)
				}
			}
		}
	}
	sum.Sort()
	chunk.Rows = sum.Rows
	for cur, s := range spend {
		s.Sort()
		chunk.Spend[cur] = s.Spend
	}
	j.Done += len(page.Items)
	var writes []store.Write
	if len(chunk.Rows) > 0 {
		w, err := clvChunkDoc.Put(store.Key{PK: clvChunkPK(tenant, j.ID), SK: fmt.Sprintf("%08d", st.Chunk)}, 0, &chunk)
		if err != nil {
			return nil, err
		}
		w.Cond = store.Cond{} // an overwrite: the chunk of this step, whatever came before
		writes = append(writes, w)
		st.Chunk++
	}
	st.Cursor = page.Next
	if page.Next == "" {
		st.Phase = "fit"
	}
	return writes, nil
}

// fit merges the chunks, fits both models and records the fit.
func (f *CLVFits) fit(ctx context.Context, tenant string, j *jobs.Job, p CLVParams, st *clvState) ([]store.Write, error) {
	var sum btyd.Summary
	spend := map[string]*btyd.Summary{}
	buyers := map[string]int{}
	q := store.Query{PK: clvChunkPK(tenant, j.ID)}
	for {
		page, err := f.store.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("clv job %s: read chunks: %w", j.ID, record.StoreError(err))
		}
		for _, it := range page.Items {
			c, err := clvChunkDoc.Decode(it)
			if err != nil {
				return nil, err
			}
			if err := sum.Merge(btyd.Summary{Rows: c.Rows}); err != nil {
				return nil, fmt.Errorf("clv job %s: chunk %s: %w", j.ID, it.SK, err)
			}
			for cur, rows := range c.Spend {
				if spend[cur] == nil {
					spend[cur] = &btyd.Summary{}
				}
				if err := spend[cur].Merge(btyd.Summary{Spend: rows}); err != nil {
					return nil, fmt.Errorf("clv job %s: chunk %s: %w", j.ID, it.SK, err)
				}
			}
			for cur, n := range c.Buyers {
				buyers[cur] += n
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	cur := p.Currency
	if cur == "" {
		for c, n := range buyers {
			if n > buyers[cur] || n == buyers[cur] && c < cur {
				cur = c
			}
		}
	}
	bg, err := btyd.FitBGNBD(sum, btyd.Options{})
	if err != nil {
		return nil, clvFitError(err, st.AsOfDate, "")
	}
	var ss btyd.Summary
	if spend[cur] != nil {
		ss = *spend[cur]
	}
	gg, err := btyd.FitGammaGamma(ss, btyd.Options{})
	if err != nil {
		return nil, clvFitError(err, st.AsOfDate, cmp.Or(cur, "any currency"))
	}
	st.Model, st.Spend, st.Currency = bg.Model, gg.Model, cur
	st.Phase, st.Cursor = "write", ""
	j.Total, j.Done = bg.Customers, 0
	fit := CLVFit{
		ID: j.ID, Status: CLVFitWriting, AsOf: p.AsOf, AsOfDate: st.AsOfDate, Unit: p.Unit,
		HorizonDays: p.HorizonDays, DiscountRate: *p.DiscountRate, Currency: cur,
		Customers: bg.Customers, Repeaters: bg.Repeaters, BGNBD: bg, GammaGamma: gg, StartedAt: j.StartedAt,
	}
	w, err := clvFitDoc.Put(clvFitKey(tenant, j.ID), 0, &fit)
	if err != nil {
		return nil, err
	}
	w.Cond = store.Cond{} // a step redone after a lost commit writes the same fit
	return []store.Write{w}, nil
}

// clvFitError is a fit refused for too little data as the problem the
// job fails with; other errors are the fitter's and retried.
func clvFitError(err error, asOfDate, currency string) error {
	var te *btyd.TooLittleDataError
	if !errors.As(err, &te) {
		return fmt.Errorf("clv fit: %w", err)
	}
	msg := fmt.Sprintf("too little purchase history up to %s to fit customer lifetime value: %s needs at least %d %s, there are %d", asOfDate, te.Model, te.Need, te.What, te.Have)
	if currency != "" {
		msg += " in " + currency
	}
	field := "as_of"
	if te.Model == "Gamma-Gamma" {
		field = "currency"
	}
	return &core.Error{Code: core.CodeInvalid, Message: msg, Fields: []core.FieldError{{Path: field, Message: msg}}}
}

// write stores one page of contacts' CLV parts; the last page completes
// the fit and points latest at it.
func (f *CLVFits) write(ctx context.Context, tenant string, j *jobs.Job, p CLVParams, st *clvState) ([]store.Write, bool, error) {
	page, err := store.QueryMerged(ctx, f.store, store.Query{}, ProfilePKs(tenant), clvWritePage, st.Cursor)
	if err != nil {
		return nil, false, fmt.Errorf("clv job %s: list profiles: %w", j.ID, record.StoreError(err))
	}
	unitDays := p.Unit.days()
	horizon, step := float64(p.HorizonDays)/unitDays, clvMonthDays/unitDays
	discount := math.Pow(1+*p.DiscountRate, unitDays/365.25) - 1
	// Customers sharing (x, tx, T) share their expected transactions.
	type key struct{ x, tx, t float64 }
	memo := map[key][2]float64{}
	type update struct {
		key store.Key
		ver int64
		clv CLV
	}
	var ups []update
	if st.Bins == nil {
		st.Bins = map[int]int{}
	}
	for _, it := range page.Items {
		prof, err := ProfileDoc.Decode(it)
		if err != nil {
			return nil, false, err
		}
		c, ok := clvCustomer(prof.Purchases, st.AsOfDate, p.Unit)
		if !ok {
			continue
		}
		k := key{c.X, c.TX, c.T}
		pe, ok := memo[k]
		if !ok {
			e, err := st.Model.ExpectedTransactions(c.Customer, horizon)
			if err != nil {
				return nil, false, fmt.Errorf("clv job %s: contact %s: %w", j.ID, prof.ContactID, err)
			}
			d, err := btyd.DiscountedTransactions(st.Model, c.Customer, horizon, step, discount)
			if err != nil {
				return nil, false, fmt.Errorf("clv job %s: contact %s: %w", j.ID, prof.ContactID, err)
			}
			pe = [2]float64{e, d}
			memo[k] = pe
		}
		s := c.spend[st.Currency]
		spend := st.Spend.ExpectedSpend(btyd.Customer{X: s.X, Spend: s.Spend})
		if math.IsNaN(spend) { // a repeat spend of 0 in the currency: nothing known of its size
			spend = st.Spend.ExpectedSpend(btyd.Customer{})
		}
		v := CLV{
			PAlive: st.Model.PAlive(c.Customer), ExpectedTransactions: pe[0], ExpectedSpend: spend,
			Value: spend * pe[1], Currency: st.Currency, HorizonDays: p.HorizonDays, FitID: j.ID, At: p.AsOf,
		}
		ups = append(ups, update{key: it.Key, ver: it.Version, clv: v})
		st.Bins[clvBin(v.Value)]++
		st.Total += v.Value
	}
	// Writes outside the step's transaction, each a put at the version read
	// (re-read on a lost race), 8 at a time: they overwrite only the CLV
	// part with this fit's, so a step done twice writes the same.
	errs := make([]error, len(ups))
	sem := make(chan struct{}, clvWriters)
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f.putCLV(ctx, u.key, u.ver, u.clv)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, false, fmt.Errorf("clv job %s: %w", j.ID, err)
	}
	st.Written += len(ups)
	j.Done = st.Written
	st.Cursor = page.Next
	if page.Next != "" {
		return nil, false, nil
	}
	fit, ver, err := clvFitDoc.Get(ctx, f.store, clvFitKey(tenant, j.ID))
	if err != nil {
		return nil, false, err
	}
	fit.Status, fit.FinishedAt = CLVFitDone, f.now().UTC()
	fit.Contacts, fit.TotalValue, fit.Quantiles = st.Written, st.Total, clvQuantiles(st.Bins, st.Written)
	fw, err := clvFitDoc.Put(clvFitKey(tenant, j.ID), ver, &fit)
	if err != nil {
		return nil, false, err
	}
	lw, err := clvLatestDoc.Put(clvLatestKey(tenant), 0, &clvLatest{FitID: j.ID})
	if err != nil {
		return nil, false, err
	}
	lw.Cond = store.Cond{} // the newest completed fit wins
	result, err := json.Marshal(map[string]any{"fit_id": j.ID, "contacts": st.Written, "currency": st.Currency})
	if err != nil {
		return nil, false, err
	}
	j.Result = result
	return []store.Write{fw, lw}, true, nil
}

// putCLV sets a profile's CLV part at version ver, re-reading when the
// summary consumer (or another part's writer) got there first.
func (f *CLVFits) putCLV(ctx context.Context, k store.Key, ver int64, v CLV) error {
	for attempt := 0; ; attempt++ {
		prof, cur, err := ProfileDoc.Get(ctx, f.store, k)
		if attempt == 0 {
			cur = ver // the page's copy is fresh enough to try first
		}
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil // the contact went (erased): nothing to value
		}
		if err != nil {
			return err
		}
		if prof.CLV != nil && *prof.CLV == v {
			return nil // this step done before
		}
		prof.CLV = &v
		w, err := ProfileDoc.Put(k, cur, &prof)
		if err != nil {
			return err
		}
		err = f.store.Put(ctx, w.Item, w.Cond)
		if err == nil {
			return nil
		}
		if !record.IsRace(err) {
			return fmt.Errorf("write profile %s: %w", k, record.StoreError(err))
		}
		if attempt == record.MaxRetries {
			return record.Stale("profile", k.SK, 0, -1)
		}
	}
}

// clvInput is a customer as the CLV models see them, with their repeat
// spend by currency.
type clvInput struct {
	btyd.Customer
	spend map[string]btyd.Customer // X: repeat days with an amount in the currency, Spend: their mean net
}

// clvCustomer summarises purchases at asOfDate (the tenant's day) in
// unit: X is the transaction days after the first up to asOfDate, TX the
// last of them and T asOfDate, both counted from the first day. Days after
// asOfDate are ignored; a contact whose first day is after it is not a
// customer yet (false).
func clvCustomer(p Purchases, asOfDate string, unit CLVUnit) (clvInput, bool) {
	var first, last time.Time
	var c clvInput
	sums := map[string][2]float64{}
	for i, d := range p.Days {
		if d.Date > asOfDate {
			break
		}
		day, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			continue
		}
		if i == 0 {
			first = day
			for _, a := range d.Amounts {
				sums[a.Currency] = [2]float64{}
			}
			last = day
			continue
		}
		c.X++
		last = day
		for _, a := range d.Amounts {
			s := sums[a.Currency]
			sums[a.Currency] = [2]float64{s[0] + 1, s[1] + float64(a.Net)}
		}
	}
	if first.IsZero() {
		return c, false
	}
	end, err := time.Parse(time.DateOnly, asOfDate)
	if err != nil {
		return c, false
	}
	days := func(t time.Time) float64 { return math.Round(t.Sub(first).Hours() / 24) }
	u := unit.days()
	c.TX, c.T = days(last)/u, days(end)/u
	if c.X == 0 {
		c.TX = 0
	}
	c.spend = make(map[string]btyd.Customer, len(sums))
	for cur, s := range sums {
		sc := btyd.Customer{X: s[0]}
		if s[0] > 0 {
			sc.Spend = s[1] / s[0]
		}
		c.spend[cur] = sc
	}
	return c, true
}

// roundSignificant keeps digits significant digits of v: spends that
// differ by less than 0.01 % fit the same and compress into one row.
func roundSignificant(v float64, digits int) float64 {
	if v == 0 {
		return 0
	}
	s := strconv.FormatFloat(v, 'g', digits, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}

// clvBin is a value's bin for the quantiles: bins 2 % wide in log(1+v),
// so a quantile read off them is within 1 %.
func clvBin(v float64) int { return int(math.Floor(math.Log1p(math.Max(v, 0)) / math.Log(1.02))) }

func clvBinValue(b int) float64 { return math.Expm1((float64(b) + 0.5) * math.Log(1.02)) }

// clvQuantiles reads the 10th, 25th, 50th, 75th, 90th and 99th percentiles
// off the bins of n values.
func clvQuantiles(bins map[int]int, n int) []CLVQuantile {
	if n == 0 {
		return nil
	}
	keys := make([]int, 0, len(bins))
	for b := range bins {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	var out []CLVQuantile
	seen, i := 0, 0
	for _, q := range []float64{0.1, 0.25, 0.5, 0.75, 0.9, 0.99} {
		rank := int(math.Ceil(q * float64(n)))
		for i < len(keys) && seen+bins[keys[i]] < rank {
			seen += bins[keys[i]]
			i++
		}
		if i == len(keys) {
			i = len(keys) - 1
		}
		out = append(out, CLVQuantile{Q: q, Value: clvBinValue(keys[i])})
	}
	return out
}
