package httpapi

import (
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
)

// requireContentType answers 415 to a body whose media type is not one the
// operation's document declares for its request body, before huma or the
// handler reads it: a handler that reads its body raw would otherwise take
// form data or text for JSON. The document is the contract, so an operation
// gets this by declaring its body, with nothing of its own.
func (s *Server) requireContentType(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if op.RequestBody == nil || len(op.RequestBody.Content) == 0 {
		next(ctx)
		return
	}
	ct := ctx.Header("Content-Type")
	if ct == "" && !hasBody(ctx) {
		next(ctx) // no body at all: the operation says whether it needs one
		return
	}
	declared := slices.Sorted(maps.Keys(op.RequestBody.Content))
	if mt, _, err := mime.ParseMediaType(ct); err == nil && slices.Contains(declared, strings.ToLower(mt)) {
		next(ctx)
		return
	}
	// RFC 9110 §15.5.16: say what would be taken (Accept-Patch, RFC 5789).
	if op.Method == http.MethodPatch {
		ctx.SetHeader("Accept-Patch", strings.Join(declared, ", "))
	}
	detail := "Content-Type must be " + strings.Join(declared, " or ")
	if ct == "" {
		detail += "; the request has a body and no Content-Type"
	} else {
		detail += ", not " + ct
	}
	_ = huma.WriteErr(s.api, ctx, http.StatusUnsupportedMediaType, detail)
}

// hasBody says whether a request carries a body, as net/http reads it.
func hasBody(ctx huma.Context) bool {
	r, _ := humago.Unwrap(ctx)
	return r == nil || r.ContentLength != 0
}

// routerProblems makes the router's own answers — no operation at a path
// (404), or none for the method (405, with Allow) — problem+json like every
// other error; ServeMux writes them as text. An answer whose handler set a
// content type is an operation's, and passes as it is.
type routerProblems struct {
	http.ResponseWriter
	swallow bool
}

func (p *routerProblems) WriteHeader(status int) {
	ct := p.Header().Get("Content-Type")
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && (ct == "" || strings.HasPrefix(ct, "text/plain")) {
		detail := "no operation has this path; /openapi.json lists them"
		if status == http.StatusMethodNotAllowed {
			detail = "the operations at this path take " + p.Header().Get("Allow")
		}
		p.Header().Del("X-Content-Type-Options")
		p.Header().Del("Content-Length")
		writeProblem(p.ResponseWriter, newProblem(status, detail))
		p.swallow = true
		return
	}
	p.ResponseWriter.WriteHeader(status)
}

func (p *routerProblems) Write(b []byte) (int, error) {
	if p.swallow {
		return len(b), nil
	}
	return p.ResponseWriter.Write(b)
}

func (p *routerProblems) Unwrap() http.ResponseWriter { return p.ResponseWriter }

// SetReadDeadline keeps huma's body-read deadline (BodyReadTimeout, 5 s by
// default) off the connection. net/http does not expect a handler to move
// the read deadline once its background read has started — which it does
// as soon as the body is consumed, before huma's call when the body is
// empty or the idempotency middleware read it. That read then times out
// while the handler still runs, and net/http cancels the context of the
// connection: this request and every later one on the keep-alive
// connection fail with "context canceled" (golang/go#70834). The server's
// own ReadTimeout, which net/http clears at the right moment, bounds a slow
// body instead.
func (p *routerProblems) SetReadDeadline(time.Time) error { return nil }
