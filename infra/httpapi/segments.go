package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/segments"
)

type segmentOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     segments.Segment
}

func segmentOut(sg segments.Segment, created bool) *segmentOutput {
	out := &segmentOutput{ETag: etag(sg.Version), Body: sg}
	if created {
		out.Location = "/v1/" + collectionOf(sg.Kind) + "/" + sg.ID
	}
	return out
}

func collectionOf(k segments.Kind) string {
	if k == segments.Static {
		return "lists"
	}
	return "segments"
}

// SegmentPath is the id of a segment or list in a path.
type SegmentPath struct {
	ID string `path:"id" doc:"Segment or list id (ULID)" maxLength:"26"`
}

// ExportPath is the id of an export in a path.
type ExportPath struct {
	ID string `path:"id" doc:"Export id: the id of its job (ULID)" maxLength:"26"`
}

// ListFields is what a list's writers set.
type ListFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"2000"`
}

// ExportJob is an export's progress, and its file once done.
type ExportJob struct {
	ID         string                 `json:"id"`
	Status     jobs.Status            `json:"status" enum:"running,done,failed,cancelled"` // jobs.Statuses
	Done       int                    `json:"done" doc:"Members written so far."`
	Result     *segments.ExportResult `json:"result,omitempty"`
	Error      string                 `json:"error,omitempty"`
	StartedAt  time.Time              `json:"started_at"`
	FinishedAt time.Time              `json:"finished_at,omitzero"`
}

func exportJobOf(j jobs.Job) ExportJob {
	out := ExportJob{ID: j.ID, Status: j.Status, Done: j.Done, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt}
	if j.Error != nil {
		out.Error = j.Error.Message
	}
	if len(j.Result) > 0 {
		var r segments.ExportResult
		if json.Unmarshal(j.Result, &r) == nil {
			out.Result = &r
		}
	}
	return out
}

type exportJobOutput struct {
	Location string `header:"Location"`
	Body     ExportJob
}

type membersPage struct {
	Items      []segments.Member `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last."`
}

type countBody struct {
	Count int `json:"count" doc:"Members now, exact."`
}

type previewRequest struct {
	Expression string `json:"expression" minLength:"1" maxLength:"4096" doc:"A CEL condition over the contact view (docs/segments.md)."`
	Sample     int    `json:"sample,omitempty" minimum:"1" maximum:"1000" default:"200" doc:"How many of the newest contacts to evaluate it on."`
}

type membersRequest struct {
	Members []segments.MemberRef `json:"members" minItems:"1" maxItems:"1000" doc:"Contacts by contact_id or email."`
}

type memberResults struct {
	Results []segments.BatchResult `json:"results" doc:"One per member given, in order."`
}

func (s *Server) registerSegments() {
	const tag = "Marketing"
	for _, kind := range segments.Kinds {
		s.registerAudience(tag, kind)
	}

	huma.Register(s.api, operation("preview-segment", http.MethodPost, "/v1/segments/preview",
		"Evaluate a segment expression on a sample of the newest contacts, storing nothing", core.ScopeRead, tag),
		func(ctx context.Context, in *struct{ Body previewRequest }) (*struct{ Body segments.Preview }, error) {
			n := in.Body.Sample
			if n == 0 {
				n = 200
			}
			p, err := s.segments.Preview(ctx, tenantOf(ctx), in.Body.Expression, n)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &struct{ Body segments.Preview }{p}, nil
		})

	huma.Register(s.api, operation("get-export", http.MethodGet, "/v1/exports/{id}",
		"An export's progress, and where to download it once done", core.ScopeRead, tag),
		func(ctx context.Context, in *ExportPath) (*struct{ Body ExportJob }, error) {
			j, err := s.segments.ExportJob(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body ExportJob }{exportJobOf(j)}, nil
		})

	op := operation("download-export", http.MethodGet, "/v1/exports/{id}/download",
		"Download a finished export: CSV with a header row, or NDJSON (one contact a line)", core.ScopeRead, tag)
	op.Responses = map[string]*huma.Response{"200": {Description: "The file.", Content: map[string]*huma.MediaType{
		"text/csv":             {Schema: &huma.Schema{Type: "string"}},
		"application/x-ndjson": {Schema: &huma.Schema{Type: "string"}},
	}}}
	huma.Register(s.api, op, func(ctx context.Context, in *ExportPath) (*huma.StreamResponse, error) {
		e, err := s.segments.GetExport(ctx, tenantOf(ctx), in.ID)
		if err != nil {
			return nil, s.problem(ctx, err, "path")
		}
		return &huma.StreamResponse{Body: func(hc huma.Context) {
			ct := "text/csv; charset=utf-8"
			if e.Format == segments.FormatNDJSON {
				ct = "application/x-ndjson"
			}
			hc.SetHeader("Content-Type", ct)
			hc.SetHeader("Content-Disposition", `attachment; filename="`+in.ID+"."+e.Format+`"`)
			w := hc.BodyWriter()
			for n := range e.Parts {
				b, err := e.Part(ctx, n)
				if err != nil {
					s.log.ErrorContext(ctx, "export part unreadable", "export", in.ID, "part", n, "error", err.Error())
					return // the client sees a truncated body, the log says why
				}
				if _, err := w.Write(b); err != nil {
					return
				}
			}
		}}, nil
	})
}

// registerAudience registers the operations segments and lists share.
func (s *Server) registerAudience(tag string, kind segments.Kind) {
	base := "/v1/" + collectionOf(kind)
	what, id := "segment", "segment"
	if kind == segments.Static {
		what, id = "list", "list"
	}
	create := func(ctx context.Context, f segments.SegmentFields) (*segmentOutput, error) {
		sg, err := s.segments.Create(ctx, tenantOf(ctx), kind, f)
		if err != nil {
			return nil, s.problem(ctx, err, "body")
		}
		return segmentOut(sg, true), nil
	}
	update := func(ctx context.Context, idv, im string, f segments.SegmentFields) (*segmentOutput, error) {
		v, err := ifMatch(im)
		if err == nil {
			var sg segments.Segment
			if sg, err = s.segments.Update(ctx, tenantOf(ctx), kind, idv, v, f); err == nil {
				return segmentOut(sg, false), nil
			}
		}
		return nil, s.problem(ctx, err, "body")
	}
	if kind == segments.Dynamic {
		huma.Register(s.api, withStatus(operation("create-segment", http.MethodPost, base,
			"Save a segment: its expression is compiled, type-checked and cost-bounded, and a job computes its members", core.ScopeWrite, tag), http.StatusCreated),
			func(ctx context.Context, in *struct {
				IdempotencyHeader
				Body segments.SegmentFields
			}) (*segmentOutput, error) {
				return create(ctx, in.Body)
			})
		huma.Register(s.api, operation("update-segment", http.MethodPut, base+"/{id}",
			"Replace a segment's name, description and expression; a new expression re-evaluates it as a job", core.ScopeWrite, tag),
			func(ctx context.Context, in *struct {
				SegmentPath
				IfMatchHeader
				Body segments.SegmentFields
			}) (*segmentOutput, error) {
				return update(ctx, in.ID, in.IfMatch, in.Body)
			})
	} else {
		huma.Register(s.api, withStatus(operation("create-list", http.MethodPost, base,
			"Create a static list: its members are added and removed by id or e-mail", core.ScopeWrite, tag), http.StatusCreated),
			func(ctx context.Context, in *struct {
				IdempotencyHeader
				Body ListFields
			}) (*segmentOutput, error) {
				return create(ctx, segments.SegmentFields{Name: in.Body.Name, Description: in.Body.Description})
			})
		huma.Register(s.api, operation("update-list", http.MethodPut, base+"/{id}", "Replace a list's name and description", core.ScopeWrite, tag),
			func(ctx context.Context, in *struct {
				SegmentPath
				IfMatchHeader
				Body ListFields
			}) (*segmentOutput, error) {
				return update(ctx, in.ID, in.IfMatch, segments.SegmentFields{Name: in.Body.Name, Description: in.Body.Description})
			})
		for _, add := range []bool{true, false} {
			path, opID, summary := base+"/{id}/members", "add-list-members", "Add up to 1 000 contacts to a list, by id or e-mail, each with its own result"
			if !add {
				path, opID, summary = base+"/{id}/members/remove", "remove-list-members", "Remove up to 1 000 contacts from a list, by id or e-mail, each with its own result"
			}
			huma.Register(s.api, operation(opID, http.MethodPost, path, summary, core.ScopeWrite, tag),
				func(ctx context.Context, in *struct {
					SegmentPath
					Body membersRequest
				}) (*struct{ Body memberResults }, error) {
					rs, err := s.segments.ChangeMembers(ctx, tenantOf(ctx), in.ID, add, in.Body.Members)
					if err != nil {
						return nil, s.problem(ctx, err, "body")
					}
					return &struct{ Body memberResults }{memberResults{Results: rs}}, nil
				})
		}
	}

	huma.Register(s.api, operation("get-"+id, http.MethodGet, base+"/{id}", "Get a "+what, core.ScopeRead, tag),
		func(ctx context.Context, in *SegmentPath) (*segmentOutput, error) {
			sg, err := s.segments.Get(ctx, tenantOf(ctx), kind, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return segmentOut(sg, false), nil
		})

	huma.Register(s.api, operation("list-"+collectionOf(kind), http.MethodGet, base, "List "+collectionOf(kind), core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body itemsPage[segments.Segment] }, error) {
			items, next, err := s.segments.List(ctx, tenantOf(ctx), kind, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[segments.Segment] }{itemsPage[segments.Segment]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, withStatus(operation("delete-"+id, http.MethodDelete, base+"/{id}", "Delete a "+what, core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			SegmentPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				err = s.segments.Delete(ctx, tenantOf(ctx), kind, in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation(id+"-members", http.MethodGet, base+"/{id}/members",
		"A page of the "+what+"'s members, in contact id order", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			SegmentPath
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct{ Body membersPage }, error) {
			if _, err := s.segments.Get(ctx, tenantOf(ctx), kind, in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			ms, next, err := s.segments.Members(ctx, tenantOf(ctx), in.ID, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body membersPage }{membersPage{Items: ms, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation(id+"-count", http.MethodGet, base+"/{id}/count",
		"How many members the "+what+" has now (exact)", core.ScopeRead, tag),
		func(ctx context.Context, in *SegmentPath) (*struct{ Body countBody }, error) {
			if _, err := s.segments.Get(ctx, tenantOf(ctx), kind, in.ID); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			n, err := s.segments.Count(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body countBody }{countBody{Count: n}}, nil
		})

	huma.Register(s.api, withStatus(operation("export-"+id, http.MethodPost, base+"/{id}/exports",
		"Export the "+what+"'s members (CSV or NDJSON, chosen fields) as a job; poll GET /v1/exports/{id}", core.ScopeWrite, tag), http.StatusAccepted),
		func(ctx context.Context, in *struct {
			SegmentPath
			IdempotencyHeader
			Body segments.ExportRequest
		}) (*exportJobOutput, error) {
			j, err := s.segments.StartExport(ctx, tenantOf(ctx), kind, in.ID, in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			return &exportJobOutput{Location: "/v1/exports/" + j.ID, Body: exportJobOf(j)}, nil
		})
}
