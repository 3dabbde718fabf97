package customers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/timers"
)

// Job kinds and timer kinds of RFM.
const (
	// JobRFM recomputes every customer's RFM scores and segment.
	JobRFM = "rfm"
	// JobRFMRemap re-maps every scored customer's segment from the R, F
	// and M it has, after the tenant changed its segment table.
	JobRFMRemap = "rfm.remap"
	// TimerRFMRefresh starts JobRFM once per window after orders change.
	TimerRFMRefresh = "rfm.refresh"
	// TimerRFMDaily starts JobRFM every day after the tenant's midnight,
	// so that recency moves on without orders, and schedules the next day.
	TimerRFMDaily = "rfm.daily"
)

// RFMScoring computes RFM scores and segments for a tenant's customers in
// jobs of bounded steps (core/jobs), keeps the latest distribution and the
// tenant's segment table, and starts the job when orders change (debounced
// by a timer) and every day.
//
// The job, "rfm", runs three passes over the profiles, page by page:
//  1. collect: each step reads up to PagesPerStep pages of PageSize
//     profiles and stores their values compactly in a chunk document of
//     its own (histograms of recency days and frequencies, which hold few
//     distinct values, and the exact monetary values per currency): the
//     distributions are exact, and no item nears the 400 KB limit;
//  2. cut: one step reads the chunks, merges them and computes the cut
//     points of every dimension (exact quintiles, see Cuts);
//  3. write: each step reads pages of profiles again and writes the RFM
//     part of those whose scores or segment changed, under the version it
//     read (re-reading and retrying a profile another writer changed), in
//     transactions of up to 50; the last step stores the distribution in
//     the job's result and as the tenant's latest.
type RFMScoring struct {
	store    store.Store
	jobs     *jobs.Service
	timers   *timers.Service
	location func(ctx context.Context, tenant string) (*time.Location, error)
	now      func() time.Time

	// PageSize and PagesPerStep bound a step: 10 pages of 500 profiles
	// read (and in the last pass, written) take a few seconds, well within
	// a worker's minute.
	PageSize, PagesPerStep int
	// Window is the debounce: orders within one window start one job, at
	// its end plus Settle (time for the profile consumer to catch up).
	Window, Settle time.Duration
	// DailyAt is how long after the tenant's midnight the daily job starts.
	DailyAt time.Duration

	mu        sync.Mutex
	scheduled map[string]string // tenant → the last refresh window and day this process scheduled
}

// NewRFMScoring returns the RFM service on s. location is a tenant's time
// zone (days are counted in it).
func NewRFMScoring(s store.Store, js *jobs.Service, ts *timers.Service, location func(ctx context.Context, tenant string) (*time.Location, error), now func() time.Time) *RFMScoring {
	return &RFMScoring{store: s, jobs: js, timers: ts, location: location, now: now,
		PageSize: 500, PagesPerStep: 10, Window: 10 * time.Minute, Settle: time.Minute, DailyAt: 15 * time.Minute,
		scheduled: map[string]string{}}
}

// Kinds are the job kinds to register on the jobs service.
func (s *RFMScoring) Kinds() []jobs.Kind {
	return []jobs.Kind{{Name: JobRFM, Step: s.step}, {Name: JobRFMRemap, Step: s.step}}
}

// ScoreBin is what one score of a dimension spans.
type ScoreBin struct {
	Score     int   `json:"score"`
	Min       int64 `json:"min" doc:"The smallest value with this score (days for recency, transaction days for frequency, minor units for monetary)."`
	Max       int64 `json:"max"`
	Customers int64 `json:"customers"`
}

// CurrencyBins are the monetary scores among the customers whose main
// currency is Currency.
type CurrencyBins struct {
	Currency  string     `json:"currency"`
	Customers int64      `json:"customers"`
	CutPoints []CutPoint `json:"cut_points"`
	Bins      []ScoreBin `json:"bins"`
}

// CutPoint is where a score begins: for frequency and monetary, From is
// the smallest value with at least Score; for recency, the fewest days
// with at most Score (R is reversed). Scores no customer reaches have no
// cut point.
type CutPoint struct {
	Score int   `json:"score"`
	From  int64 `json:"from"`
}

// SegmentSize is how many customers a segment holds.
type SegmentSize struct {
	Name      string `json:"name"`
	Customers int    `json:"customers"`
}

// RFMReport is a job's distribution: the tenant's latest one is what
// GET /v1/rfm shows.
type RFMReport struct {
	JobID     string    `json:"job_id"`
	Kind      string    `json:"kind" doc:"rfm, or rfm.remap when only the segments were re-mapped since."`
	AsOf      string    `json:"as_of" doc:"The day recency counts to, in the tenant's time zone."`
	TimeZone  string    `json:"time_zone"`
	At        time.Time `json:"at" doc:"When the job that computed the scores started."`
	Customers int       `json:"customers" doc:"Contacts with at least one transaction day, scored."`
	Changed   int       `json:"changed" doc:"Profiles whose RFM part the job wrote."`
	Recency   struct {
		CutPoints []CutPoint `json:"cut_points"`
		Bins      []ScoreBin `json:"bins"`
	} `json:"recency" doc:"Per R score, the days since the last transaction day it spans."`
	Frequency struct {
		CutPoints []CutPoint `json:"cut_points"`
		Bins      []ScoreBin `json:"bins"`
	} `json:"frequency"`
	Monetary []CurrencyBins `json:"monetary" doc:"Per main currency: amounts in different currencies are not ranked together."`
	Segments []SegmentSize  `json:"segments" doc:"In the segment table's order, empty segments included."`
	Grid     [][]int        `json:"grid" doc:"grid[r-1][f-1] is how many customers have that R and F."`
}

// rfmState is where a job stands between steps.
type rfmState struct {
	Pass     int            `json:"pass"` // 1 collect, 2 cut, 3 write
	Cursor   string         `json:"cursor,omitempty"`
	AsOf     string         `json:"as_of"`
	Zone     string         `json:"zone"`
	Chunks   int            `json:"chunks,omitempty"`
	Profiles int            `json:"profiles,omitempty"`
	Model    *Model         `json:"model,omitempty"`
	Rules    []SegmentRule  `json:"rules,omitempty"`
	Report   *RFMReport     `json:"report,omitempty"`
	Segments map[string]int `json:"segments,omitempty"`
	Grid     [5][5]int      `json:"grid"`
	Changed  int            `json:"changed,omitempty"`
}

// rfmChunk is what one collect step found.
type rfmChunk struct {
	Recency   []ValueCount       `json:"r"`
	Frequency []ValueCount       `json:"f"`
	Monetary  map[string][]int64 `json:"m"`
}

// chunkKeep is how long a job's chunks are kept: far longer than a job
// runs, and then the store's TTL deletes them for nothing.
const chunkKeep = 48 * time.Hour

var (
	chunkDoc  = record.Doc[rfmChunk]{Name: "rfm chunk"}
	latestDoc = record.Doc[RFMReport]{Name: "rfm report"}
)

func chunkPK(tenant, jobID string) string { return store.Tenant(tenant).PK("rfm-chunk", jobID) }

func chunkKey(tenant, jobID string, n int) store.Key {
	return store.Key{PK: chunkPK(tenant, jobID), SK: fmt.Sprintf("%08d", n)}
}

func latestKey(tenant string) store.Key { return store.Tenant(tenant).Marker("rfm", "latest") }

// Start starts a job now.
func (s *RFMScoring) Start(ctx context.Context, tenant, reason string) (jobs.Job, error) {
	return s.jobs.Start(ctx, tenant, JobRFM, rfmParams{Reason: reason})
}

type rfmParams struct {
	Reason string `json:"reason"`
}

// Latest is the tenant's latest distribution; not found before the first
// job ends.
func (s *RFMScoring) Latest(ctx context.Context, tenant string) (RFMReport, error) {
	r, _, err := latestDoc.Get(ctx, s.store, latestKey(tenant))
	if core.ErrorCode(err) == core.CodeNotFound {
		return r, core.Errorf(core.CodeNotFound, "no RFM scores yet: they are computed after the first orders, or start a job with POST /v1/rfm/jobs")
	}
	return r, err
}

func (s *RFMScoring) step(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var st rfmState
	if raw == nil {
		loc, err := s.location(ctx, tenant)
		if err != nil {
			return nil, false, nil, err
		}
		st = rfmState{Pass: 1, AsOf: j.StartedAt.In(loc).Format(time.DateOnly), Zone: loc.String()}
		if j.Kind == JobRFMRemap {
			st.Pass = 3
		}
	} else if err := json.Unmarshal(raw, &st); err != nil {
		return nil, false, nil, fmt.Errorf("decode rfm job state: %w", err)
	}
	var writes []store.Write
	var done bool
	var err error
	switch st.Pass {
	case 1:
		writes, err = s.collect(ctx, tenant, j, &st)
	case 2:
		err = s.cut(ctx, tenant, j, &st)
	default:
		writes, done, err = s.write(ctx, tenant, j, &st)
	}
	if err != nil {
		return nil, false, nil, err
	}
	next, err := json.Marshal(st)
	return next, done, writes, err
}

// collect is pass 1: a step's pages of profiles into one chunk.
func (s *RFMScoring) collect(ctx context.Context, tenant string, j *jobs.Job, st *rfmState) ([]store.Write, error) {
	r, f := map[int64]int64{}, map[int64]int64{}
	c := rfmChunk{Monetary: map[string][]int64{}}
	for range s.PagesPerStep {
		page, err := store.QueryMerged(ctx, s.store, store.Query{}, ProfilePKs(tenant), s.PageSize, st.Cursor)
		if err != nil {
			return nil, fmt.Errorf("rfm: list profiles: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			p, err := ProfileDoc.Decode(it)
			if err != nil {
				return nil, err
			}
			sum, ok := SummaryOf(&p, st.AsOf)
			if !ok {
				continue
			}
			st.Profiles++
			r[sum.Recency]++
			f[sum.Frequency]++
			c.Monetary[sum.Currency] = append(c.Monetary[sum.Currency], sum.Monetary)
		}
		st.Cursor = page.Next
		if st.Cursor == "" {
			break
		}
	}
	c.Recency, c.Frequency = histogram(r), histogram(f)
	w, err := chunkDoc.Put(chunkKey(tenant, j.ID, st.Chunks), 0, &c)
	if err != nil {
		return nil, err
	}
	w.Item.ExpiresAt = j.StartedAt.Add(chunkKeep)
	st.Chunks++
	if st.Cursor == "" {
		st.Pass = 2
	}
	return []store.Write{w}, nil
}

func histogram(m map[int64]int64) []ValueCount {
	out := make([]ValueCount, 0, len(m))
	for _, v := range slices.Sorted(maps.Keys(m)) {
		out = append(out, ValueCount{Value: v, Count: m[v]})
	}
	return out
}

// cut is pass 2: the chunks merged, the cut points, and the table the
// last pass maps segments with.
func (s *RFMScoring) cut(ctx context.Context, tenant string, j *jobs.Job, st *rfmState) error {
	r, f := map[int64]int64{}, map[int64]int64{}
	mon := map[string][]int64{}
	q := store.Query{PK: chunkPK(tenant, j.ID), Consistent: true}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("rfm: read chunks: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			c, err := chunkDoc.Decode(it)
			if err != nil {
				return err
			}
			for _, vc := range c.Recency {
				r[vc.Value] += vc.Count
			}
			for _, vc := range c.Frequency {
				f[vc.Value] += vc.Count
			}
			for cur, vs := range c.Monetary {
				mon[cur] = append(mon[cur], vs...)
			}
		}
		if q.Cursor = page.Next; q.Cursor == "" {
			break
		}
	}
	rh, fh := histogram(r), histogram(f)
	m := Model{Recency: CutsOfHistogram(rh), Frequency: CutsOfHistogram(fh), Monetary: make(map[string]Cuts, len(mon))}
	rep := &RFMReport{JobID: j.ID, Kind: j.Kind, AsOf: st.AsOf, TimeZone: st.Zone, At: j.StartedAt, Monetary: []CurrencyBins{}}
	rep.Recency.Bins, rep.Recency.CutPoints = binsOf(rh, m.Recency, true), cutPoints(m.Recency, true)
	rep.Frequency.Bins, rep.Frequency.CutPoints = binsOf(fh, m.Frequency, false), cutPoints(m.Frequency, false)
	for _, cur := range slices.Sorted(maps.Keys(mon)) {
		vals := mon[cur]
		slices.Sort(vals)
		cuts := CutsOfSorted(vals)
		m.Monetary[cur] = cuts
		var h []ValueCount
		for _, v := range vals {
			if n := len(h); n > 0 && h[n-1].Value == v {
				h[n-1].Count++
			} else {
				h = append(h, ValueCount{Value: v, Count: 1})
			}
		}
		rep.Monetary = append(rep.Monetary, CurrencyBins{Currency: cur, Customers: int64(len(vals)), CutPoints: cutPoints(cuts, false), Bins: binsOf(h, cuts, false)})
	}
	table, err := s.Segments(ctx, tenant)
	if err != nil {
		return err
	}
	st.Model, st.Report, st.Rules = &m, rep, table.Rules
	st.Pass, st.Cursor = 3, ""
	j.Total = st.Profiles
	return nil
}

// binsOf is what each score spans in a histogram; reversed scores
// recency (6 − the score of the days).
func binsOf(h []ValueCount, cuts Cuts, reversed bool) []ScoreBin {
	var bins []ScoreBin
	for _, vc := range h {
		score := cuts.Score(vc.Value)
		if reversed {
			score = 6 - score
		}
		if n := len(bins); n > 0 && bins[n-1].Score == score {
			bins[n-1].Max = vc.Value
			bins[n-1].Customers += vc.Count
			continue
		}
		bins = append(bins, ScoreBin{Score: score, Min: vc.Value, Max: vc.Value, Customers: vc.Count})
	}
	if bins == nil {
		bins = []ScoreBin{}
	}
	return bins
}

func cutPoints(c Cuts, reversed bool) []CutPoint {
	out := []CutPoint{}
	for k, from := range c {
		if from == NoCut {
			continue
		}
		score := k + 2
		if reversed {
			score = 6 - score
		}
		out = append(out, CutPoint{Score: score, From: from})
	}
	return out
}

// pending is one profile whose RFM part changes.
type pending struct {
	key     store.Key
	version int64
	p       Profile
}

// write is pass 3: every profile's RFM part, written where it changed.
func (s *RFMScoring) write(ctx context.Context, tenant string, j *jobs.Job, st *rfmState) ([]store.Write, bool, error) {
	if st.Rules == nil { // a re-map job starts here
		table, err := s.Segments(ctx, tenant)
		if err != nil {
			return nil, false, err
		}
		st.Rules = table.Rules
	}
	segs, err := NewSegmentMap(st.Rules)
	if err != nil {
		return nil, false, fmt.Errorf("rfm: the stored segment table: %w", err)
	}
	if st.Segments == nil {
		st.Segments = map[string]int{}
	}
	for range s.PagesPerStep {
		page, err := store.QueryMerged(ctx, s.store, store.Query{}, ProfilePKs(tenant), s.PageSize, st.Cursor)
		if err != nil {
			return nil, false, fmt.Errorf("rfm: list profiles: %w", record.StoreError(err))
		}
		var changes []pending
		for _, it := range page.Items {
			p, err := ProfileDoc.Decode(it)
			if err != nil {
				return nil, false, err
			}
			j.Done++
			if s.rescore(&p, st, segs, j.StartedAt) {
				changes = append(changes, pending{key: it.Key, version: it.Version, p: p})
			} else {
				tally(st, p.RFM)
			}
		}
		if err := s.commit(ctx, tenant, st, segs, j.StartedAt, changes); err != nil {
			return nil, false, err
		}
		st.Cursor = page.Next
		if st.Cursor == "" {
			break
		}
	}
	if st.Cursor != "" {
		return nil, false, nil
	}
	w, err := s.finish(ctx, tenant, j, st, segs)
	return w, true, err
}

// rescore sets p's RFM part as the job computes it, and reports whether
// that changed it. A re-map changes only the segment of a scored profile.
func (s *RFMScoring) rescore(p *Profile, st *rfmState, segs SegmentMap, at time.Time) bool {
	old := p.RFM
	var want *RFM
	if st.Model == nil { // re-map
		if old == nil {
			return false
		}
		w := *old
		w.Segment = segs.Segment(Scores{R: old.R, F: old.F, M: old.M})
		want = &w
	} else if sum, ok := SummaryOf(p, st.AsOf); ok {
		sc := st.Model.Score(sum)
		want = &RFM{R: sc.R, F: sc.F, M: sc.M, Segment: segs.Segment(sc), At: at}
	}
	switch {
	case old == nil && want == nil:
		return false
	case old != nil && want != nil && old.R == want.R && old.F == want.F && old.M == want.M && old.Segment == want.Segment:
		return false
	}
	p.RFM = want
	return true
}

func tally(st *rfmState, r *RFM) {
	if r == nil {
		return
	}
	st.Segments[r.Segment]++
	if r.R >= 1 && r.R <= 5 && r.F >= 1 && r.F <= 5 {
		st.Grid[r.R-1][r.F-1]++
	}
}

// txItems and txBytes bound one transaction of profile writes, well under
// the store's 100 items and 4 MB.
const (
	txItems = 50
	txBytes = 2 << 20
)

// commit writes the changed profiles in transactions; a transaction that
// meets a profile changed since the page was read is redone profile by
// profile, each re-read and re-scored until its write holds.
func (s *RFMScoring) commit(ctx context.Context, tenant string, st *rfmState, segs SegmentMap, at time.Time, changes []pending) error {
	var batch []store.Write
	var in []pending
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.store.Transact(ctx, batch)
		if errors.Is(err, store.ErrConditionFailed) {
			for _, c := range in {
				if err := s.writeOne(ctx, st, segs, at, c); err != nil {
					return err
				}
			}
		} else if err != nil {
			return fmt.Errorf("rfm: write profiles: %w", record.StoreError(err))
		} else {
			for _, c := range in {
				tally(st, c.p.RFM)
			}
			st.Changed += len(in)
		}
		batch, in, size = batch[:0], in[:0], 0
		return nil
	}
	for _, c := range changes {
		w, err := ProfileDoc.Put(c.key, c.version, &c.p)
		if err != nil {
			return err
		}
		if len(batch) == txItems || size+w.Item.Size() > txBytes {
			if err := flush(); err != nil {
				return err
			}
		}
		batch, in, size = append(batch, w), append(in, c), size+w.Item.Size()
	}
	return flush()
}

// writeOne writes one profile's RFM part under its version, re-reading
// and re-scoring it when another writer got there first; a profile gone
// meanwhile (an erased contact) is left alone.
func (s *RFMScoring) writeOne(ctx context.Context, st *rfmState, segs SegmentMap, at time.Time, c pending) error {
	for attempt := 0; ; attempt++ {
		w, err := ProfileDoc.Put(c.key, c.version, &c.p)
		if err != nil {
			return err
		}
		err = s.store.Put(ctx, w.Item, w.Cond)
		if err == nil {
			tally(st, c.p.RFM)
			st.Changed++
			return nil
		}
		if !errors.Is(err, store.ErrConditionFailed) {
			return fmt.Errorf("rfm: write profile %s: %w", c.key, record.StoreError(err))
		}
		if attempt == record.MaxRetries {
			return fmt.Errorf("rfm: profile %s: %w", c.key, record.Stale("profile", c.key.String(), 0, -1))
		}
		p, v, err := ProfileDoc.Get(ctx, s.store, c.key)
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !s.rescore(&p, st, segs, at) {
			tally(st, p.RFM)
			return nil
		}
		c.p, c.version = p, v
	}
}

// finish is the job's last step: its result, and the tenant's latest
// distribution unless a job started later already wrote one.
func (s *RFMScoring) finish(ctx context.Context, tenant string, j *jobs.Job, st *rfmState, segs SegmentMap) ([]store.Write, error) {
	prev, version, err := latestDoc.Get(ctx, s.store, latestKey(tenant))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	rep := st.Report
	if rep == nil { // a re-map keeps the scores' distribution it re-maps
		if version == 0 {
			rep = &RFMReport{AsOf: st.AsOf, TimeZone: st.Zone, At: j.StartedAt, Monetary: []CurrencyBins{}}
			rep.Recency.Bins, rep.Recency.CutPoints = []ScoreBin{}, []CutPoint{}
			rep.Frequency.Bins, rep.Frequency.CutPoints = []ScoreBin{}, []CutPoint{}
		} else {
			rep = &prev
		}
		rep.JobID, rep.Kind = j.ID, j.Kind
	}
	rep.Customers = 0
	rep.Segments = []SegmentSize{}
	for _, name := range segs.Names() {
		rep.Segments = append(rep.Segments, SegmentSize{Name: name, Customers: st.Segments[name]})
		rep.Customers += st.Segments[name]
	}
	rep.Grid = make([][]int, 5)
	for r := range 5 {
		rep.Grid[r] = st.Grid[r][:]
	}
	rep.Changed = st.Changed
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	j.Result = b
	if version > 0 && prev.At.After(j.StartedAt) && prev.Kind == JobRFM && j.Kind == JobRFM {
		return nil, nil // a later job's scores are newer
	}
	w, err := latestDoc.Put(latestKey(tenant), version, rep)
	if err != nil {
		return nil, err
	}
	return []store.Write{w}, nil
}
