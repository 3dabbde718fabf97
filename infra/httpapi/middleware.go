package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
)

type ctxKey int

const (
	infoKey ctxKey = iota
	principalKey
)

// requestInfo is filled in as a request passes the middleware, for the logs.
type requestInfo struct {
	id     string
	tenant string
}

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// PrincipalFrom returns who is calling, when the request was authenticated.
func PrincipalFrom(ctx context.Context) (core.Principal, bool) {
	p, ok := ctx.Value(principalKey).(core.Principal)
	return p, ok
}

// WithPrincipal returns ctx carrying p; the Lambda adapter uses it when an
// API Gateway authorizer has already authenticated the caller.
func WithPrincipal(ctx context.Context, p core.Principal) context.Context {
	info(ctx).tenant = p.TenantID
	return context.WithValue(ctx, principalKey, p)
}

// LogHandler adds the request id and tenant of the request in a log call's
// context to every record, so handlers only pass ctx.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ri, ok := ctx.Value(infoKey).(*requestInfo); ok {
		r.AddAttrs(slog.String("request_id", ri.id))
		if ri.tenant != "" {
			r.AddAttrs(slog.String("tenant", ri.tenant))
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(as)}
}
func (h logHandler) WithGroup(n string) slog.Handler { return logHandler{h.Handler.WithGroup(n)} }

// statusRecorder remembers what a handler answered.
type statusRecorder struct {
	http.ResponseWriter
	status int
	body   *bytes.Buffer // when set, a copy of the body
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body != nil {
		r.body.Write(b)
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// observe gives every request an id (the client's X-Request-Id when it is
// sane) and logs one line when it ends.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{id: r.Header.Get("X-Request-Id")}
		if len(ri.id) == 0 || len(ri.id) > 128 || strings.ContainsFunc(ri.id, func(c rune) bool { return c <= ' ' || c > '~' }) {
			ri.id = core.NewID(start)
		}
		w.Header().Set("X-Request-Id", ri.id)
		ctx := context.WithValue(r.Context(), infoKey, ri)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			// A bug must cost one request a plain 500, not the connection,
			// and never show the client a stack trace.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(ctx, "panic", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					writeProblem(rec, newProblem(http.StatusInternalServerError, "internal error; the request id in the logs says more"))
				}
			}
		}()
		next.ServeHTTP(rec, r.WithContext(ctx))
		level := slog.LevelInfo
		if rec.status >= 500 {
			level = slog.LevelError
		}
		s.log.Log(ctx, level, "request", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)))
	})
}

// limitBody refuses bodies over MaxBodyBytes (MaxModuleBytes for a plugin
// upload) before anything reads them.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, what := int64(MaxBodyBytes), "1 MiB"
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/plugins/") && strings.HasSuffix(r.URL.Path, "/versions") {
			limit, what = MaxModuleBytes, "20 MiB"
		}
		if r.ContentLength > limit {
			writeProblem(w, newProblem(http.StatusRequestEntityTooLarge, "request body is over "+what))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves a bearer API key to its principal. A request without
// one goes on unauthenticated (requireScope refuses it where a scope is
// needed); a request with a bad one stops here.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			// Behind API Gateway a JWT authorizer may have named the caller.
			if p, ok := PrincipalFrom(r.Context()); ok {
				ctx := events.WithCause(r.Context(), events.Cause{Actor: events.Actor{Type: "jwt", ID: p.KeyID}, CorrelationID: info(r.Context()).id})
				info(ctx).tenant = p.TenantID
				r = r.WithContext(ctx)
			}
			next.ServeHTTP(w, r)
			return
		}
		scheme, secret, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			writeProblem(w, newProblem(http.StatusUnauthorized, "use Authorization: Bearer <API key>"))
			return
		}
		p, err := s.keys.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			s.writeError(w, r, err, "header")
			return
		}
		ctx := WithPrincipal(r.Context(), p)
		// What this request changes is attributed to the key, and everything
		// it sets off is correlated by the request id.
		ctx = events.WithCause(ctx, events.Cause{Actor: events.Actor{Type: "api_key", ID: p.KeyID}, CorrelationID: info(ctx).id})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// scopeKey is the operation metadata naming the scope an operation needs.
const scopeKey = "scope"

// requireScope runs before huma reads the body, so an unauthenticated caller
// learns nothing from validation errors.
func (s *Server) requireScope(ctx huma.Context, next func(huma.Context)) {
	need, ok := ctx.Operation().Metadata[scopeKey].(core.Scope)
	if !ok {
		next(ctx)
		return
	}
	p, ok := PrincipalFrom(ctx.Context())
	switch {
	case !ok:
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="fedele"`)
		_ = huma.WriteErr(s.api, ctx, http.StatusUnauthorized, "missing or invalid API key")
	case !p.Can(need):
		_ = huma.WriteErr(s.api, ctx, http.StatusForbidden, "this API key lacks the "+string(need)+" scope")
	default:
		next(ctx)
	}
}

// idempotent replays the stored response of a POST whose Idempotency-Key
// was seen before with the same request, and stores the response of a new
// one. As Stripe does, only requests that ran are remembered: a request
// refused before it could change anything (bad body, content type, scope) or
// one that failed on our side (5xx) releases its key, so the corrected
// retry runs instead of replaying the refusal.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		p, authed := PrincipalFrom(r.Context())
		// A new or rotated key's secret must never be stored, not even in a replay.
		if r.Method != http.MethodPost || key == "" || !authed || strings.HasPrefix(r.URL.Path, "/v1/api-keys") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeProblem(w, newProblem(http.StatusRequestEntityTooLarge, "request body is over 1 MiB"))
				return
			}
			writeProblem(w, newProblem(http.StatusBadRequest, "could not read the request body"))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.New()
		for _, part := range [][]byte{[]byte(p.KeyID), []byte(r.Method), []byte(r.URL.RequestURI()), body} {
			sum.Write(part)
			sum.Write([]byte{0})
		}
		fp := hex.EncodeToString(sum.Sum(nil))

		ctx := r.Context()
		outcome, replay, err := s.idempotency.Begin(ctx, p.TenantID, key, fp)
		if err != nil {
			s.writeError(w, r, err, "header")
			return
		}
		if replay {
			var stored storedResponse
			if err := json.Unmarshal(outcome, &stored); err != nil {
				s.writeError(w, r, fmt.Errorf("decode idempotent response: %w", err), "header")
				return
			}
			for k, v := range stored.Header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(stored.Status)
			_, _ = w.Write(stored.Body)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, body: &bytes.Buffer{}}
		completed := false
		defer func() {
			// A panic or a 5xx releases the key instead of remembering it.
			if !completed || !remembered(rec.status) {
				if err := s.idempotency.Abandon(context.WithoutCancel(ctx), p.TenantID, key); err != nil {
					s.log.ErrorContext(ctx, "abandon idempotency key", slog.String("error", err.Error()))
				}
			}
		}()
		next.ServeHTTP(rec, r)
		completed = true
		if !remembered(rec.status) {
			return
		}
		resp := storedResponse{Status: rec.status, Body: rec.body.Bytes(), Header: map[string]string{}}
		for _, h := range []string{"Content-Type", "ETag", "Location"} {
			if v := w.Header().Get(h); v != "" {
				resp.Header[h] = v
			}
		}
		outcome, err = json.Marshal(resp)
		if err == nil {
			err = s.idempotency.Finish(context.WithoutCancel(ctx), p.TenantID, key, fp, outcome)
		}
		if err != nil {
			// Not remembered: release the key rather than answer "in progress"
			// to every retry for a day.
			s.log.ErrorContext(ctx, "store idempotent response", slog.String("error", err.Error()))
			completed = false
		}
	})
}

// storedResponse is what an idempotent POST keeps to replay.
type storedResponse struct {
	Status int               `json:"status"`
	Header map[string]string `json:"header,omitempty"`
	Body   []byte            `json:"body,omitempty"`
}

// remembered reports whether a response is kept for replay: successes, and
// conflicts that a retry of the same request would meet again.
func remembered(status int) bool {
	return status >= 200 && status < 400 || status == http.StatusConflict || status == http.StatusPreconditionFailed
}
