package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/contacts"
)

type contactOutput struct {
	Status   int    `json:"-"`
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     core.Contact
}

func contactOut(c core.Contact, status int) *contactOutput {
	out := &contactOutput{Status: status, ETag: etag(c.Version), Body: c}
	if status == http.StatusCreated {
		out.Location = "/v1/contacts/" + c.ID
	}
	return out
}

// IdempotencyHeader documents the header the idempotency middleware reads.
// Input types embed it; they must be exported for huma to see them.
type IdempotencyHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" doc:"Repeat a POST safely: the same key and body replay the first response for 24 h; the same key with another body is refused."`
}

// IfMatchHeader is the If-Match of conditional writes.
type IfMatchHeader struct {
	IfMatch string `header:"If-Match" doc:"The ETag (version) the change applies to; 412 when the record has moved on."`
}

// byEmailPath is the contact that has an e-mail address.
const byEmailPath = "/v1/contacts-by-email/{email}"

// EmailPath is an e-mail address in a path.
type EmailPath struct {
	Email string `path:"email" maxLength:"254" doc:"An e-mail address of the contact, in any case."`
}

// ContactPath is the id of a contact in a path.
type ContactPath struct {
	ID string `path:"id" doc:"Contact id (ULID)" maxLength:"26"`
}

type listContactsInput struct {
	Limit        int        `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Cursor       string     `query:"cursor" maxLength:"2048" doc:"next_cursor of the previous page, with the same filters."`
	Email        string     `query:"email" maxLength:"254"`
	Tag          string     `query:"tag" maxLength:"64"`
	OwnerID      string     `query:"owner_id" maxLength:"128"`
	CompanyID    string     `query:"company_id" maxLength:"26"`
	Stage        core.Stage `query:"lifecycle_stage"`
	UpdatedSince time.Time  `query:"updated_since" doc:"RFC 3339; contacts updated at or after it."`
	Q            string     `query:"q" maxLength:"200" doc:"Contacts whose name, e-mail or phone starts with it, case and accents aside (at least one word of 2 characters; several words must all match; a phone from its country code, +1 415). Results come in the order of what they match; combines with the other filters, not with sort."`
	Sort         string     `query:"sort" enum:"created,-created,updated,-updated,name,-name" doc:"By creation, last update or name; - for newest first or Z to A. -created when absent."`
}

type batchContactsInput struct {
	IdempotencyHeader
	Body struct {
		Items []core.ContactFields `json:"items" minItems:"1" maxItems:"100"`
	}
}

// BatchResult is one element's outcome in a batch response.
type BatchResult[T any] struct {
	Index  int         `json:"index"`
	Status int         `json:"status" doc:"201 when created, else the status this element alone would have had."`
	Record *T          `json:"record,omitempty"`
	Error  *ErrorModel `json:"error,omitempty"`
}

func (s *Server) registerContacts() {
	const tag = "Contacts"
	huma.Register(s.api, readsItsBody(withStatus(operation("create-contact", http.MethodPost, "/v1/contacts", "Create a contact", core.ScopeWrite, tag), http.StatusCreated)),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			RawBody []byte `contentType:"application/json"`
		}) (*contactOutput, error) {
			f, err := s.readContact(ctx, in.RawBody)
			if err == nil {
				var c core.Contact
				if c, err = s.contacts.Create(ctx, tenantOf(ctx), f); err == nil {
					return contactOut(c, http.StatusCreated), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	documentBody(s.api, http.MethodPost, "/v1/contacts", core.ContactFields{}, "The new contact.", "application/json")

	huma.Register(s.api, operation("get-contact", http.MethodGet, "/v1/contacts/{id}", "Get a contact", core.ScopeRead, tag),
		func(ctx context.Context, in *ContactPath) (*contactViewOutput, error) {
			// The score and the customer profile live apart from the contact
			// (they must not change its version); a read shows them beside,
			// read with it (customers.go).
			return s.getContact(ctx, in.ID)
		})

	huma.Register(s.api, readsItsBody(operation("update-contact", http.MethodPatch, "/v1/contacts/{id}", "Update a contact (JSON merge patch)", core.ScopeWrite, tag)),
		func(ctx context.Context, in *struct {
			ContactPath
			IfMatchHeader
			RawBody []byte `contentType:"application/merge-patch+json"`
		}) (*contactOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var c core.Contact
				if c, err = s.contacts.Update(ctx, tenantOf(ctx), in.ID, v, mergeInto[core.ContactFields](in.RawBody, s.checkContact)); err == nil {
					return contactOut(c, http.StatusOK), nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})
	mergePatchBody(s.api, "/v1/contacts/{id}", core.ContactFields{})

	huma.Register(s.api, withStatus(operation("delete-contact", http.MethodDelete, "/v1/contacts/{id}", "Delete a contact", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *struct {
			ContactPath
			IfMatchHeader
		}) (*struct{}, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				_, err = s.contacts.Delete(ctx, tenantOf(ctx), in.ID, v)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-contacts", http.MethodGet, "/v1/contacts", "List contacts", core.ScopeRead, tag),
		func(ctx context.Context, in *listContactsInput) (*struct{ Body itemsPage[core.Contact] }, error) {
			f := contacts.ContactFilter{Email: in.Email, Tag: in.Tag, OwnerID: in.OwnerID, CompanyID: in.CompanyID,
				Stage: in.Stage, UpdatedSince: in.UpdatedSince, Q: in.Q, Sort: in.Sort}
			items, next, err := s.contacts.List(ctx, tenantOf(ctx), f, in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct{ Body itemsPage[core.Contact] }{itemsPage[core.Contact]{Items: items, NextCursor: next}}, nil
		})

	// Not under /v1/contacts/: /v1/contacts/by-email/{email} and
	// /v1/contacts/{id}/score would both match /v1/contacts/by-email/score.
	huma.Register(s.api, operation("get-contact-by-email", http.MethodGet, byEmailPath, "Get the contact that has an e-mail", core.ScopeRead, tag),
		func(ctx context.Context, in *EmailPath) (*contactOutput, error) {
			c, err := s.contacts.ByEmail(ctx, tenantOf(ctx), in.Email)
			if err == nil {
				c, err = s.scorer.Contact(ctx, tenantOf(ctx), c.ID)
			}
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return contactOut(c, http.StatusOK), nil
		})

	upsert := func(ctx context.Context, in *struct {
		EmailPath
		IfMatchHeader
		RawBody []byte `contentType:"application/json"`
	}) (*contactOutput, error) {
		v, err := ifMatch(in.IfMatch)
		if err == nil && ifMatchAny(in.IfMatch) {
			// "*" matches a contact that exists: it must not create one.
			if _, err = s.contacts.ByEmail(ctx, tenantOf(ctx), in.Email); core.ErrorCode(err) == core.CodeNotFound {
				err = core.Errorf(core.CodeStale, "If-Match: * and no contact has the e-mail %s", in.Email)
			}
		}
		if err != nil {
			return nil, s.problem(ctx, err, "header")
		}
		f, err := s.readContact(ctx, in.RawBody)
		if err != nil {
			return nil, s.problem(ctx, err, "body")
		}
		c, created, err := s.contacts.UpsertByEmail(ctx, tenantOf(ctx), in.Email, v, f)
		if err != nil {
			return nil, s.problem(ctx, err, "body")
		}
		if created {
			return contactOut(c, http.StatusCreated), nil
		}
		return contactOut(c, http.StatusOK), nil
	}
	huma.Register(s.api, readsItsBody(operation("upsert-contact-by-email", http.MethodPut, byEmailPath,
		"Create or replace the contact that has an e-mail", core.ScopeWrite, tag)), upsert)
	documentBody(s.api, http.MethodPut, byEmailPath, core.ContactFields{}, "Every field of the contact.", "application/json")
	// The path this upsert had before it moved out of /v1/contacts/{id}'s
	// way (a path that two templates match is ambiguous to client
	// generators): still served for the clients that use it, no longer
	// documented.
	legacy := readsItsBody(operation("upsert-contact-by-email-legacy", http.MethodPut, "/v1/contacts/by-email/{email}",
		"Create or replace the contact that has an e-mail (the path before /v1/contacts-by-email)", core.ScopeWrite, tag))
	legacy.Hidden = true
	huma.Register(s.api, legacy, upsert)
	alsoAnswers(s.api, http.MethodPut, byEmailPath, http.StatusCreated, "Created: no contact had the e-mail.")

	huma.Register(s.api, operation("batch-create-contacts", http.MethodPost, "/v1/contacts/batch",
		"Create up to 100 contacts, each on its own", core.ScopeWrite, tag),
		func(ctx context.Context, in *batchContactsInput) (*struct {
			Body struct {
				Results []BatchResult[core.Contact] `json:"results"`
			}
		}, error) {
			out := &struct {
				Body struct {
					Results []BatchResult[core.Contact] `json:"results"`
				}
			}{}
			for i, r := range s.contacts.CreateMany(ctx, tenantOf(ctx), in.Body.Items) {
				out.Body.Results = append(out.Body.Results, batchResult(s, ctx, i, r.Record, r.Err))
			}
			return out, nil
		})
}

// readContact reads a contact's fields from a body, reporting the schema's
// and the domain's problems together.
func (s *Server) readContact(ctx context.Context, raw []byte) (core.ContactFields, error) {
	return readFields(raw, s.checkContact, func(f core.ContactFields) error { return s.contacts.Check(ctx, tenantOf(ctx), f) })
}

// batchResult reports one element of a batch. Field paths point into the
// element ("body.items[3].emails[0].address").
func batchResult[T any](s *Server, ctx context.Context, i int, rec T, err error) BatchResult[T] {
	if err == nil {
		return BatchResult[T]{Index: i, Status: http.StatusCreated, Record: &rec}
	}
	m, _ := s.problemModel(ctx, err, "body.items["+strconv.Itoa(i)+"]")
	return BatchResult[T]{Index: i, Status: m.Status, Error: m}
}

func withStatus(op huma.Operation, status int) huma.Operation {
	op.DefaultStatus = status
	return op
}
