package httpapi

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/messaging"
)

type messageOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     messaging.Message
}

// MessagePath is the id of a message in a path.
type MessagePath struct {
	ID string `path:"id" doc:"Message id (ULID)" maxLength:"26"`
}

// SuppressionPath is a suppressed address in a path.
type SuppressionPath struct {
	Address string `path:"address" doc:"The address: an e-mail address, an E.164 number, a contact id (push) or a postal address as messages show it." maxLength:"1000"`
}

// UnsubscribePath is a one-click unsubscribe token in a path.
type UnsubscribePath struct {
	Token string `path:"token" doc:"The signed token of an unsubscribe link." maxLength:"512"`
}

type policyOutput struct {
	ETag string `header:"ETag"`
	Body messaging.Policy
}

type pageOutput struct {
	ContentType  string `header:"Content-Type"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

func page(title, text string, form string) *pageOutput {
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">`)
	b.WriteString(`<meta name="robots" content="noindex"><title>` + html.EscapeString(title) + `</title></head><body><h1>`)
	b.WriteString(html.EscapeString(title) + "</h1><p>" + html.EscapeString(text) + "</p>" + form + "</body></html>")
	return &pageOutput{ContentType: "text/html; charset=utf-8", CacheControl: "no-store", Body: b.Bytes()}
}

// masked shows enough of an address for its owner to recognise it.
func masked(a string) string {
	local, domain, ok := strings.Cut(a, "@")
	if !ok {
		if len(a) > 4 {
			return strings.Repeat("•", len(a)-4) + a[len(a)-4:]
		}
		return a
	}
	if len(local) > 1 {
		local = local[:1] + strings.Repeat("•", len(local)-1)
	}
	return local + "@" + domain
}

func (s *Server) registerMessages() {
	const tag = "Messages"
	huma.Register(s.api, withStatus(operation("request-message", http.MethodPost, "/v1/messages",
		"Ask for a message to a contact: the delivery policy decides at once — requested (a message.requested event for the provider), deferred to the first allowed time, or skipped with a reason; one message per contact and campaign step (or key), so a retry answers the first one", core.ScopeWrite, tag), http.StatusCreated),
		func(ctx context.Context, in *struct {
			IdempotencyHeader
			Body messaging.Request
		}) (*struct {
			Location string `header:"Location"`
			Status   int
			Body     messaging.Outcome
		}, error) {
			out, err := s.messaging.Request(ctx, tenantOf(ctx), in.Body)
			if err != nil {
				return nil, s.problem(ctx, err, "body")
			}
			status := http.StatusCreated
			if out.Duplicate {
				status = http.StatusOK
			}
			return &struct {
				Location string `header:"Location"`
				Status   int
				Body     messaging.Outcome
			}{Location: "/v1/messages/" + out.Message.ID, Status: status, Body: out}, nil
		})
	alsoAnswers(s.api, http.MethodPost, "/v1/messages", http.StatusOK, "The message was asked for before: its outcome, unchanged.")

	huma.Register(s.api, operation("get-message", http.MethodGet, "/v1/messages/{id}", "Get a message: where it stands, why, and its receipts", core.ScopeRead, tag),
		func(ctx context.Context, in *MessagePath) (*messageOutput, error) {
			m, err := s.messaging.Get(ctx, tenantOf(ctx), in.ID)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &messageOutput{ETag: etag(m.Version), Body: m}, nil
		})

	huma.Register(s.api, operation("receive-message-event", http.MethodPost, "/v1/messages/{id}/events",
		"Report what happened to a message (a provider's receipt): it becomes a message.<type> event on the contact's timeline; a hard bounce, a complaint or an unsubscribe suppresses the address, and an unsubscribe withdraws the channel's consent. A repeated provider_event_id is taken once", core.ScopeMessageReceipts, tag),
		func(ctx context.Context, in *struct {
			MessagePath
			IdempotencyHeader
			Body messaging.Receipt
		}) (*messageOutput, error) {
			m, err := s.messaging.Receive(ctx, tenantOf(ctx), in.ID, in.Body)
			if err != nil {
				in := "body"
				if core.ErrorCode(err) == core.CodeNotFound {
					in = "path"
				}
				return nil, s.problem(ctx, err, in)
			}
			return &messageOutput{ETag: etag(m.Version), Body: m}, nil
		})

	huma.Register(s.api, operation("get-messaging-policy", http.MethodGet, "/v1/messaging/policy",
		"The tenant's delivery policy: frequency caps and quiet hours", core.ScopeRead, tag),
		func(ctx context.Context, _ *struct{}) (*policyOutput, error) {
			p, err := s.messaging.Policy(ctx, tenantOf(ctx))
			if err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return &policyOutput{ETag: etag(p.Version), Body: p}, nil
		})

	huma.Register(s.api, operation("put-messaging-policy", http.MethodPut, "/v1/messaging/policy",
		"Replace the tenant's delivery policy; it applies to every message decided from now on, deferred ones included", core.ScopeAdmin, tag),
		func(ctx context.Context, in *struct {
			IfMatchHeader
			Body messaging.Policy
		}) (*policyOutput, error) {
			v, err := ifMatch(in.IfMatch)
			if err == nil {
				var p messaging.Policy
				if p, err = s.messaging.SetPolicy(ctx, tenantOf(ctx), in.Body, v); err == nil {
					return &policyOutput{ETag: etag(p.Version), Body: p}, nil
				}
			}
			return nil, s.problem(ctx, err, "body")
		})

	huma.Register(s.api, withStatus(operation("rotate-unsubscribe-key", http.MethodPost, "/v1/messaging/signing-keys",
		"Rotate the key that signs one-click unsubscribe links: new links use a new key; links of the last two keys keep working", core.ScopeAdmin, tag), http.StatusNoContent),
		func(ctx context.Context, _ *struct{}) (*struct{}, error) {
			if err := s.messaging.RotateSigningKey(ctx, tenantOf(ctx)); err != nil {
				return nil, s.problem(ctx, err, "")
			}
			return nil, nil
		})

	huma.Register(s.api, operation("list-suppressions", http.MethodGet, "/v1/suppressions",
		"List the addresses nothing is sent to (hard bounces, complaints, unsubscribes)", core.ScopeRead, tag),
		func(ctx context.Context, in *struct {
			Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50"`
			Cursor string `query:"cursor" maxLength:"2048"`
		}) (*struct {
			Body itemsPage[messaging.Suppression]
		}, error) {
			items, next, err := s.messaging.Suppressions(ctx, tenantOf(ctx), in.Limit, in.Cursor)
			if err != nil {
				return nil, s.problem(ctx, err, "query")
			}
			return &struct {
				Body itemsPage[messaging.Suppression]
			}{itemsPage[messaging.Suppression]{Items: items, NextCursor: next}}, nil
		})

	huma.Register(s.api, operation("get-suppression", http.MethodGet, "/v1/suppressions/{address}",
		"Whether an address is suppressed, and why", core.ScopeRead, tag),
		func(ctx context.Context, in *SuppressionPath) (*struct{ Body messaging.Suppression }, error) {
			sp, err := s.messaging.Suppression(ctx, tenantOf(ctx), in.Address)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return &struct{ Body messaging.Suppression }{sp}, nil
		})

	huma.Register(s.api, withStatus(operation("delete-suppression", http.MethodDelete, "/v1/suppressions/{address}",
		"Lift a suppression (the address works again); consent is not restored by this", core.ScopeWrite, tag), http.StatusNoContent),
		func(ctx context.Context, in *SuppressionPath) (*struct{}, error) {
			if err := s.messaging.Unsuppress(ctx, tenantOf(ctx), in.Address); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return nil, nil
		})

	// The public one-click unsubscribe (RFC 8058): no API key; the signed
	// token is the only authority, and a token that does not verify is
	// simply not found. A GET (what a person's click or a mail scanner
	// does) changes nothing: it shows a page whose button POSTs.
	huma.Register(s.api, huma.Operation{OperationID: "unsubscribe-page", Method: http.MethodGet, Path: "/u/{token}",
		Summary: "The confirmation page of a one-click unsubscribe link (public; changes nothing)", Tags: []string{tag}},
		func(ctx context.Context, in *UnsubscribePath) (*pageOutput, error) {
			tg, err := s.messaging.CheckUnsubscribe(ctx, in.Token)
			if err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return page("Unsubscribe", "Stop "+string(tg.Channel)+" messages to "+masked(tg.Address)+"?",
				`<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`), nil
		})
	s.api.OpenAPI().Paths["/u/{token}"].Get.Responses["200"].Content = map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: huma.TypeString}}}

	huma.Register(s.api, huma.Operation{OperationID: "unsubscribe", Method: http.MethodPost, Path: "/u/{token}",
		Summary: "One-click unsubscribe (RFC 8058, public): withdraws the channel's consent, suppresses the address and records message.unsubscribed",
		Tags:    []string{tag}, SkipValidateBody: true},
		func(ctx context.Context, in *struct {
			UnsubscribePath
			RawBody []byte `contentType:"application/x-www-form-urlencoded"`
		}) (*pageOutput, error) {
			// Form-encoded or multipart: either way the pair's value is there.
			if !bytes.Contains(in.RawBody, []byte("One-Click")) {
				return nil, s.problem(ctx, core.Invalid("", "the body must be List-Unsubscribe=One-Click (RFC 8058)", nil), "body")
			}
			if err := s.messaging.Unsubscribe(ctx, in.Token); err != nil {
				return nil, s.problem(ctx, err, "path")
			}
			return page("Unsubscribed", "You will not get these messages any more.", ""), nil
		})
	post := s.api.OpenAPI().Paths["/u/{token}"].Post
	post.Responses["200"].Content = map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: huma.TypeString}}}
	form := &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeObject, Required: []string{"List-Unsubscribe"},
		Properties: map[string]*huma.Schema{"List-Unsubscribe": {Type: huma.TypeString, Pattern: "^One-Click$"}}}}
	post.RequestBody.Required = true
	post.RequestBody.Description = "List-Unsubscribe=One-Click, as a mail receiver sends it (RFC 8058 §3.2)."
	post.RequestBody.Content = map[string]*huma.MediaType{"application/x-www-form-urlencoded": form, "multipart/form-data": form}
}
