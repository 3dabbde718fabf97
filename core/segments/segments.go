package segments

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timers"
)

// Kind says how a segment's members are decided.
type Kind string

const (
	// Dynamic segments hold the contacts their expression matches, kept
	// live by events and timers.
	Dynamic Kind = "dynamic"
	// Static segments are lists: members are added and removed by hand.
	Static Kind = "static"
)

// Kinds lists every kind.
var Kinds = []Kind{Dynamic, Static}

// MaxDynamic bounds a tenant's dynamic segments: the membership consumer
// evaluates all of them for every event, and the changes one event makes
// (two writes a segment) must fit one transaction of 100.
const MaxDynamic = 40

// SegmentFields is what a segment's writers set.
type SegmentFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"2000"`
	// Expression is the CEL condition over the contact view
	// (docs/segments.md); lists have none.
	Expression string `json:"expression,omitempty" maxLength:"4096" doc:"A CEL condition over the contact view (docs/segments.md); dynamic segments only."`
}

// Segment is a saved audience: a dynamic segment or a static list.
type Segment struct {
	core.Meta
	SegmentFields
	Kind Kind `json:"kind" enum:"dynamic,static" readOnly:"true"` // Kinds
	// JobID is the job that computes the membership of the segment's
	// current version (dynamic segments).
	JobID string `json:"job_id,omitempty" readOnly:"true" doc:"The job (GET /v1/jobs/{id}) evaluating this version over every contact."`
}

var segmentKind = record.Type[Segment]{
	Name: "segment",
	Key:  segmentKey,
	Meta: func(s *Segment) *core.Meta { return &s.Meta },
	Index: func(tenant string, s *Segment) map[store.Index]store.Key {
		if s.Kind != Dynamic {
			return nil
		}
		return map[store.Index]store.Key{store.GSI1: {PK: dynamicPK(tenant), SK: s.ID}}
	},
}

// Service keeps segments, lists and their membership.
type Service struct {
	store    store.Store
	contacts *contacts.Contacts
	tenants  *tenancy.Tenants
	jobs     *jobs.Service
	timers   *timers.Service
	blobs    plugins.Blobs
	now      func() time.Time
	log      *slog.Logger

	programs sync.Map // tenant/id/version → *Program
}

// New returns the service. blobs holds export files.
func New(s store.Store, cs *contacts.Contacts, ts *tenancy.Tenants, js *jobs.Service, tm *timers.Service, blobs plugins.Blobs,
	now func() time.Time, log *slog.Logger) *Service {
	sv := &Service{store: s, contacts: cs, tenants: ts, jobs: js, timers: tm, blobs: blobs, now: now, log: log}
	js.Register(jobs.Kind{Name: EvaluateJob, Step: sv.evaluateStep})
	js.Register(jobs.Kind{Name: ExportJob, Step: sv.exportStep})
	tm.Register(timers.Handler{Kind: FlipTimer, Handle: sv.flipTimer})
	return sv
}

func (f *SegmentFields) normalize(kind Kind) (*Program, error) {
	var p core.Problems
	f.Name = strings.TrimSpace(f.Name)
	if f.Name == "" || len([]rune(f.Name)) > 200 {
		p.Add("name", "must be 1-200 characters")
	}
	if len([]rune(f.Description)) > 2000 {
		p.Add("description", "must be at most 2000 characters")
	}
	if kind == Static {
		if f.Expression != "" {
			p.Add("expression", "a list has no expression: its members are added and removed")
		}
		return nil, p.Err()
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return Compile("expression", f.Expression)
}

// program is the compiled expression of a segment's version, compiled
// once per process.
func (s *Service) program(tenant string, sg Segment) (*Program, error) {
	key := fmt.Sprintf("%s/%s/%d", tenant, sg.ID, sg.Version)
	if p, ok := s.programs.Load(key); ok {
		return p.(*Program), nil
	}
	p, err := Compile("expression", sg.Expression)
	if err != nil {
		return nil, err
	}
	s.programs.Store(key, p)
	return p, nil
}

// Create saves a segment (kind dynamic) or a list (static). A dynamic
// segment starts the job that computes its first members.
func (s *Service) Create(ctx context.Context, tenant string, kind Kind, f SegmentFields) (Segment, error) {
	if _, err := f.normalize(kind); err != nil {
		return Segment{}, err
	}
	sg := Segment{SegmentFields: f, Kind: kind}
	if kind == Dynamic {
		n, err := s.dynamic(ctx, tenant)
		if err != nil {
			return sg, err
		}
		if len(n) >= MaxDynamic {
			return sg, core.Errorf(core.CodeConflict, "a tenant has at most %d dynamic segments", MaxDynamic)
		}
	}
	if err := segmentKind.Create(ctx, s.store, tenant, s.now(), &sg); err != nil {
		return sg, err
	}
	if kind == Dynamic {
		return s.startEvaluation(ctx, tenant, sg)
	}
	return sg, nil
}

func (s *Service) startEvaluation(ctx context.Context, tenant string, sg Segment) (Segment, error) {
	j, err := s.jobs.Start(ctx, tenant, EvaluateJob, evaluateParams{SegmentID: sg.ID, Version: sg.Version})
	if err != nil {
		return sg, err
	}
	// The job id is bookkeeping, not a change a reader must see as a new
	// version: it is written without an event or a version bump.
	sg.JobID = j.ID
	doc, err := json.Marshal(sg)
	if err != nil {
		return sg, err
	}
	err = s.store.Put(ctx, store.Item{Key: segmentKey(tenant, sg.ID), IndexKeys: segmentKind.Index(tenant, &sg), Version: sg.Version, Data: doc},
		store.Cond{Version: sg.Version})
	if err != nil && !errors.Is(err, store.ErrConditionFailed) {
		return sg, fmt.Errorf("record job of segment %s: %w", sg.ID, record.StoreError(err))
	}
	return sg, nil
}

// Get returns a segment or list of kind; another tenant's, or one of the
// other kind, is not found.
func (s *Service) Get(ctx context.Context, tenant string, kind Kind, id string) (Segment, error) {
	sg, err := segmentKind.Get(ctx, s.store, tenant, id)
	if err == nil && sg.Kind != kind {
		return Segment{}, core.Errorf(core.CodeNotFound, "%s %s not found", kindName(kind), id)
	}
	if core.ErrorCode(err) == core.CodeNotFound {
		return Segment{}, core.Errorf(core.CodeNotFound, "%s %s not found", kindName(kind), id)
	}
	return sg, err
}

func kindName(k Kind) string {
	if k == Static {
		return "list"
	}
	return "segment"
}

// Update changes a segment's fields; a changed expression re-evaluates it
// over every contact as a job.
func (s *Service) Update(ctx context.Context, tenant string, kind Kind, id string, ifVersion int64, f SegmentFields) (Segment, error) {
	if _, err := s.Get(ctx, tenant, kind, id); err != nil {
		return Segment{}, err
	}
	if _, err := f.normalize(kind); err != nil {
		return Segment{}, err
	}
	var before string
	sg, err := segmentKind.Update(ctx, s.store, tenant, id, ifVersion, s.now, func(cur Segment) (Segment, error) {
		before = cur.Expression
		cur.SegmentFields = f
		return cur, nil
	})
	if err != nil || kind != Dynamic || before == sg.Expression {
		return sg, err
	}
	return s.startEvaluation(ctx, tenant, sg)
}

// Delete removes a segment or list. Its member items are left to expire
// from nobody's view: nothing reads a deleted segment's partitions, and
// the contacts' states drop it at their next evaluation.
func (s *Service) Delete(ctx context.Context, tenant string, kind Kind, id string, ifVersion int64) error {
	if _, err := s.Get(ctx, tenant, kind, id); err != nil {
		return err
	}
	_, err := segmentKind.Delete(ctx, s.store, tenant, id, ifVersion, s.now)
	return err
}

// List returns a tenant's segments or lists, by creation.
func (s *Service) List(ctx context.Context, tenant string, kind Kind, limit int, cursor string) ([]Segment, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	return record.List(ctx, s.store, tenant, segmentKind, record.Plan{Query: store.Query{PK: segmentsPK(tenant)}, PostFilter: true},
		record.FilterKey(string(kind)), limit, cursor, func(sg *Segment) bool { return sg.Kind == kind })
}

// dynamic reads a tenant's dynamic segments (one query).
func (s *Service) dynamic(ctx context.Context, tenant string) ([]Segment, error) {
	page, err := s.store.Query(ctx, store.Query{Index: store.GSI1, PK: dynamicPK(tenant), Limit: MaxDynamic + 10})
	if err != nil {
		return nil, fmt.Errorf("dynamic segments: %w", record.StoreError(err))
	}
	out := make([]Segment, 0, len(page.Items))
	for _, it := range page.Items {
		sg, err := segmentKind.Decode(it)
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

// Member is one contact in a segment.
type Member struct {
	ContactID string    `json:"contact_id"`
	Since     time.Time `json:"since"`
}

// Members returns a page of a segment's (or list's) members, in contact
// id order; the cursor is bound to the tenant and the segment.
func (s *Service) Members(ctx context.Context, tenant, segmentID string, limit int, cursor string) ([]Member, string, error) {
	if err := record.CheckLimit(limit); err != nil {
		return nil, "", err
	}
	return s.members(ctx, tenant, segmentID, limit, cursor)
}

func (s *Service) members(ctx context.Context, tenant, segmentID string, limit int, cursor string) ([]Member, string, error) {
	filter := record.FilterKey("members", segmentID)
	var sc string
	if cursor != "" {
		c, err := record.DecodeListCursor(cursor, tenant, filter)
		if err != nil {
			return nil, "", err
		}
		sc = c
	}
	page, err := store.QueryMerged(ctx, s.store, store.Query{}, memberPKs(tenant, segmentID), limit, sc)
	if errors.Is(err, store.ErrBadCursor) {
		return nil, "", record.BadCursor()
	}
	if err != nil {
		return nil, "", fmt.Errorf("members of %s: %w", segmentID, record.StoreError(err))
	}
	out := make([]Member, 0, len(page.Items))
	for _, it := range page.Items {
		var m Member
		if err := json.Unmarshal(it.Data, &m); err != nil {
			return nil, "", fmt.Errorf("decode member %s: %w", it.Key, err)
		}
		out = append(out, m)
	}
	next := ""
	if page.Next != "" {
		next = record.EncodeListCursor(page.Next, tenant, filter)
	}
	return out, next, nil
}

// Count is the exact number of a segment's members, counted from its
// member partitions (one query per 1 000 members; docs/keys.md says why
// there is no counter).
func (s *Service) Count(ctx context.Context, tenant, segmentID string) (int, error) {
	n, cursor := 0, ""
	for {
		page, err := store.QueryMerged(ctx, s.store, store.Query{}, memberPKs(tenant, segmentID), store.MaxPageItems, cursor)
		if err != nil {
			return 0, fmt.Errorf("count members of %s: %w", segmentID, record.StoreError(err))
		}
		n += len(page.Items)
		if page.Next == "" {
			return n, nil
		}
		cursor = page.Next
	}
}

// IsMember reports whether a contact is in a segment or list, as stored.
func (s *Service) IsMember(ctx context.Context, tenant, segmentID, contactID string) (bool, error) {
	_, err := s.store.Get(ctx, memberKey(tenant, segmentID, contactID))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, record.StoreError(err)
}

// Evaluate answers whether a contact matches a dynamic segment now,
// computed afresh from its current data (what a campaign asks at the
// moment of sending).
func (s *Service) Evaluate(ctx context.Context, tenant, segmentID, contactID string) (bool, error) {
	sg, err := s.Get(ctx, tenant, Dynamic, segmentID)
	if err != nil {
		return false, err
	}
	p, err := s.program(tenant, sg)
	if err != nil {
		return false, err
	}
	t, err := s.tenants.Get(ctx, tenant)
	if err != nil {
		return false, err
	}
	ins, err := s.inputs(ctx, tenant, []string{contactID})
	if err != nil {
		return false, err
	}
	if len(ins) == 0 {
		return false, core.Errorf(core.CodeNotFound, "contact %s not found", contactID)
	}
	return p.Match(ins[0].Input, s.now(), t.Location())
}

// Input reads what evaluating a contact needs (the contact, its company,
// score, profile and history state) for another area's CEL conditions on
// the same view — a journey's branches and goals. ok is false when the
// contact is not found.
func (s *Service) Input(ctx context.Context, tenant, contactID string) (Input, bool, error) {
	ins, err := s.inputs(ctx, tenant, []string{contactID})
	if err != nil || len(ins) == 0 {
		return Input{}, false, err
	}
	return ins[0].Input, true, nil
}
