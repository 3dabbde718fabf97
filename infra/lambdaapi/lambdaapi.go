// Package lambdaapi runs the HTTP API behind API Gateway (HTTP API, payload
// v2) in Lambda: each event becomes an http.Request for the very handler
// `fedele serve` uses, through aws-lambda-go-api-proxy, and a JWT
// authorizer's claims, when present, say who is calling.
//
// It must never hold API logic: routes, auth by API key and errors all stay
// in infra/httpapi.
package lambdaapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	fcore "github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/infra/httpapi"
)

// Claims names the JWT claims that carry the tenant and the scopes.
type Claims struct {
	Tenant string // e.g. "custom:tenant"
	Scopes string // space-separated, e.g. "scope"
}

// Handler adapts api to API Gateway HTTP API events.
func Handler(api http.Handler, claims Claims) func(context.Context, lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(api)
	return func(ctx context.Context, ev lambdaevents.APIGatewayV2HTTPRequest) (lambdaevents.APIGatewayV2HTTPResponse, error) {
		if p, ok := principal(ev, claims); ok {
			ctx = httpapi.WithPrincipal(ctx, p)
		}
		req, err := adapter.EventToRequestWithContext(ctx, ev)
		if err != nil {
			// An event API Gateway would not send (a bad path or body encoding):
			// the caller's fault, answered as such rather than as a crash.
			body, _ := json.Marshal(map[string]any{"type": httpapi.ProblemBase + "malformed", "title": "Bad Request",
				"status": 400, "detail": "the request could not be read: " + err.Error()})
			return lambdaevents.APIGatewayV2HTTPResponse{StatusCode: 400, Body: string(body),
				Headers: map[string]string{"Content-Type": "application/problem+json"}}, nil
		}
		w := core.NewProxyResponseWriterV2()
		api.ServeHTTP(w, req)
		return w.GetProxyResponse()
	}
}

// principal reads the caller from a JWT authorizer's claims. Scopes it does
// not know are ignored; a token without a tenant is no principal (the API
// then asks for an API key).
func principal(ev lambdaevents.APIGatewayV2HTTPRequest, c Claims) (fcore.Principal, bool) {
	auth := ev.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || c.Tenant == "" {
		return fcore.Principal{}, false
	}
	tenant := auth.JWT.Claims[c.Tenant]
	if !fcore.ValidTenantID(tenant) {
		return fcore.Principal{}, false
	}
	p := fcore.Principal{TenantID: tenant, KeyID: "jwt:" + auth.JWT.Claims["sub"]}
	for _, s := range strings.Fields(auth.JWT.Claims[c.Scopes]) {
		if sc, ok := fcore.ParseScope(s); ok && !slices.Contains(p.Scopes, sc) {
			p.Scopes = append(p.Scopes, sc)
		}
	}
	return p, true
}
