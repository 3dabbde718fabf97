package reports

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// JobKind is the job that builds and publishes a tenant's snapshot.
const JobKind = "reports_refresh"

// A step reads up to StepProfiles profiles, PageSize a query, and adds
// them into at most MaxPartsPerStep parts, which it writes back with the
// job's progress in one transaction: parts stay near 100 KB, so a step's
// transaction stays under DynamoDB's 4 MB and 100 items, and a step reads
// for a few seconds at most.
const (
	PageSize        = 500
	StepProfiles    = 2000
	MaxPartsPerStep = 32
)

// buildState is where the next step of a build starts.
type buildState struct {
	AsOf  time.Time `json:"as_of"`
	Today string    `json:"today"`
	Zone  string    `json:"zone"`
	// Cursor is the page being read, After the last profile of it already
	// added (a step that stops within a page resumes after it).
	Cursor   string             `json:"cursor,omitempty"`
	After    string             `json:"after,omitempty"`
	Parts    []PartRef          `json:"parts,omitempty"`
	Profiles int                `json:"profiles"`
	RFM      map[string]int64   `json:"rfm,omitempty"`
	CLV      map[string]*Sketch `json:"clv,omitempty"`
	States   map[string]int64   `json:"states,omitempty"`
	// Cleanup is the build whose parts are being deleted, once this one
	// is published (or this one's, when a newer one was published first).
	Cleanup   string `json:"cleanup,omitempty"`
	Published bool   `json:"published,omitempty"`
}

// BuildResult is what a finished refresh job says.
type BuildResult struct {
	BuildID   string    `json:"build_id"`
	AsOf      time.Time `json:"as_of"`
	Profiles  int       `json:"profiles"`
	Parts     int       `json:"parts"`
	Published bool      `json:"published" doc:"false when a newer snapshot was published first."`
}

// Kind is the refresh job, for core/jobs.
func (s *Service) Kind() jobs.Kind { return jobs.Kind{Name: JobKind, Step: s.step} }

func (s *Service) step(ctx context.Context, tenant string, j *jobs.Job, raw json.RawMessage) (json.RawMessage, bool, []store.Write, error) {
	var st buildState
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, false, nil, fmt.Errorf("decode reports build state: %w", err)
		}
	}
	if st.Today == "" {
		loc, err := s.zone(ctx, tenant)
		if err != nil {
			return nil, false, nil, err
		}
		st.AsOf, st.Zone, st.Today = j.StartedAt.UTC(), loc.String(), j.StartedAt.In(loc).Format(time.DateOnly)
	}
	var writes []store.Write
	var done bool
	var err error
	if st.Cleanup != "" {
		writes, done, err = s.cleanup(ctx, tenant, &st)
	} else {
		var finished bool
		writes, finished, err = s.read(ctx, tenant, j, &st)
		done = finished && st.Cleanup == ""
	}
	if err != nil {
		return nil, false, nil, err
	}
	j.Done = st.Profiles
	if done {
		res, err := json.Marshal(BuildResult{BuildID: j.ID, AsOf: st.AsOf, Profiles: st.Profiles, Parts: len(st.Parts), Published: st.Published})
		if err != nil {
			return nil, false, nil, err
		}
		j.Result = res
	}
	next, err := json.Marshal(st)
	return next, done, writes, err
}

// read adds the next profiles into the build's parts, and publishes the
// build after the last page.
func (s *Service) read(ctx context.Context, tenant string, j *jobs.Job, st *buildState) ([]store.Write, bool, error) {
	r := rollup{parts: map[PartRef]*Part{}}
	versions := map[PartRef]int64{}
	load := func(refs []PartRef) error {
		var keys []store.Key
		for _, ref := range refs {
			if _, ok := r.parts[ref]; ok {
				continue
			}
			r.parts[ref] = &Part{Series: ref.Series, Year: ref.Year}
			if slices.Contains(st.Parts, ref) {
				keys = append(keys, partKey(tenant, j.ID, ref))
			}
		}
		for chunk := range slices.Chunk(keys, store.MaxBatchGetKeys) {
			items, err := s.store.GetMany(ctx, chunk)
			if err != nil {
				return fmt.Errorf("load report parts: %w", record.StoreError(err))
			}
			for _, it := range items {
				p, err := partDoc.Decode(it)
				if err != nil {
					return err
				}
				ref := PartRef{Series: p.Series, Year: p.Year}
				r.parts[ref], versions[ref] = &p.Part, it.Version
			}
		}
		return nil
	}
	read, finished := 0, false
pages:
	for {
		page, err := store.QueryMerged(ctx, s.store, store.Query{}, customers.ProfilePKs(tenant), s.pageSize, st.Cursor)
		if err != nil {
			return nil, false, fmt.Errorf("list profiles: %w", record.StoreError(err))
		}
		for _, it := range page.Items {
			if st.After != "" && it.SK <= st.After {
				continue
			}
			p, err := customers.ProfileDoc.Decode(it)
			if err != nil {
				return nil, false, err
			}
			sd := seriesDays(p)
			refs := touches(sd)
			fresh := 0
			for _, ref := range refs {
				if _, ok := r.parts[ref]; !ok {
					fresh++
				}
			}
			if read >= s.stepProfiles || len(r.parts) > 0 && len(r.parts)+fresh > MaxPartsPerStep {
				break pages // the next step goes on after st.After
			}
			if err := load(refs); err != nil {
				return nil, false, err
			}
			r.add(sd)
			st.count(p)
			st.After = it.SK
			read++
		}
		st.Cursor, st.After = page.Next, ""
		if page.Next == "" {
			finished = true
			break
		}
	}
	until := st.AsOf.Add(PartTTL)
	var writes []store.Write
	size := 0
	refs := make([]PartRef, 0, len(r.parts))
	for ref := range r.parts {
		refs = append(refs, ref)
	}
	slices.SortFunc(refs, func(a, b PartRef) int {
		if a.less(b) {
			return -1
		}
		return 1
	})
	for _, ref := range refs {
		w, err := partDoc.Put(partKey(tenant, j.ID, ref), versions[ref], &storedPart{Part: *r.parts[ref], Until: until})
		if err != nil {
			return nil, false, err
		}
		size += w.Item.Size()
		writes = append(writes, w)
		if !slices.Contains(st.Parts, ref) {
			st.Parts = append(st.Parts, ref)
		}
	}
	slices.SortFunc(st.Parts, func(a, b PartRef) int {
		if a.less(b) {
			return -1
		}
		return 1
	})
	if size > store.MaxTxBytes-512*1024 {
		// Parts this large mean a history far beyond what a part is sized
		// for; failing says so, where retrying would fail forever.
		return nil, false, core.Errorf(core.CodeTooLarge, "a report build step would write %d bytes; the tenant's history outgrows the snapshot's parts", size)
	}
	if !finished {
		return writes, false, nil
	}
	writes, err := s.publish(ctx, tenant, j, st, writes)
	return writes, true, err
}

// count adds a profile's current RFM segment, lifecycle state and CLV,
// for the KPIs.
func (st *buildState) count(p customers.Profile) {
	st.Profiles++
	if p.Lifecycle != nil && p.Lifecycle.State != "" && p.Lifecycle.State != string(customers.StateNone) {
		if st.States == nil {
			st.States = map[string]int64{}
		}
		st.States[p.Lifecycle.State]++
	}
	if p.RFM != nil && p.RFM.Segment != "" {
		if st.RFM == nil {
			st.RFM = map[string]int64{}
		}
		st.RFM[p.RFM.Segment]++
	}
	if p.CLV != nil && p.CLV.Currency != "" {
		if st.CLV == nil {
			st.CLV = map[string]*Sketch{}
		}
		if st.CLV[p.CLV.Currency] == nil {
			st.CLV[p.CLV.Currency] = &Sketch{}
		}
		st.CLV[p.CLV.Currency].Add(p.CLV.Value)
	}
}

// publish makes the build the one reports read — unless a build that
// started later was published first — with one conditional write of the
// head, and has the replaced build deleted by the next steps.
func (s *Service) publish(ctx context.Context, tenant string, j *jobs.Job, st *buildState, writes []store.Write) ([]store.Write, error) {
	head, version, err := headDoc.Get(ctx, s.store, headKey(tenant))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		return nil, err
	}
	if version > 0 && head.AsOf.After(st.AsOf) {
		st.Cleanup = j.ID
		return writes, nil
	}
	next := Head{BuildID: j.ID, AsOf: st.AsOf, Today: st.Today, TimeZone: st.Zone, Parts: st.Parts, Profiles: st.Profiles, RFM: st.RFM, CLV: st.CLV, States: st.States}
	w, err := headDoc.Put(headKey(tenant), version, &next)
	if err != nil {
		return nil, err
	}
	st.Published = true
	if version > 0 && head.BuildID != j.ID {
		st.Cleanup = head.BuildID
	}
	return append(writes, w), nil
}

// cleanup deletes the next parts of the replaced build.
func (s *Service) cleanup(ctx context.Context, tenant string, st *buildState) ([]store.Write, bool, error) {
	page, err := s.store.Query(ctx, store.Query{PK: buildPK(tenant, st.Cleanup), Limit: MaxPartsPerStep * 2})
	if err != nil {
		return nil, false, fmt.Errorf("list old report parts: %w", record.StoreError(err))
	}
	var writes []store.Write
	for _, it := range page.Items {
		writes = append(writes, store.Write{Op: store.OpDelete, Key: it.Key})
	}
	return writes, page.Next == "" && len(page.Items) < MaxPartsPerStep*2, nil
}
