package httpapi_test

import (
	"net"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// No handler may put a read deadline on the connection. net/http's
// background read, started once a body is consumed, takes a deadline it
// did not set for the client going away, and cancels the context of the
// connection: the request and every later one on it fail with "context
// canceled" once the deadline passes (golang/go#70834). huma sets one of
// 5 s before it reads a body, which made slow requests on DynamoDB Local
// fail, and would in `fedele serve`. The server here has no ReadTimeout,
// so net/http itself sets none in the future: any such deadline is a
// handler's.
func TestHandlersSetNoReadDeadlineOnTheConnection(t *testing.T) {
	e := newEnv(t, engines["embedded"](t))
	l := &deadlineListener{Listener: newLocalListener(t)}
	srv := httptest.NewUnstartedServer(e.app.Handler())
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	c := *e.a
	c.url = srv.URL

	contact := map[string]any{"first_name": "Ada", "emails": []map[string]any{{"address": "ada@example.com"}}}
	c.do("POST", "/v1/contacts/batch", map[string]any{"items": []any{contact}}).want(t, 200, nil)                // a body huma reads
	c.do("POST", "/v1/contacts", map[string]any{"first_name": "Bea"}, "Idempotency-Key", "k1").want(t, 201, nil) // one the idempotency middleware read first
	c.do("POST", "/v1/scoring/rescore", nil).want(t, 202, nil)                                                   // none at all
	c.do("PATCH", "/v1/tenant", map[string]any{"time_zone": "Europe/Rome"}).want(t, 200, nil)                    // a PATCH
	if got := l.future(); len(got) > 0 {
		t.Fatalf("read deadlines set on the connection, this far ahead: %v", got)
	}
}

func newLocalListener(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// deadlineListener records the read deadlines in the future set on the
// connections it accepts.
type deadlineListener struct {
	net.Listener
	mu  sync.Mutex
	set []time.Duration
}

func (l *deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	return deadlineConn{Conn: c, l: l}, nil
}

func (l *deadlineListener) future() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set
}

type deadlineConn struct {
	net.Conn
	l *deadlineListener
}

func (c deadlineConn) SetReadDeadline(t time.Time) error {
	if d := time.Until(t); !t.IsZero() && d > 0 {
		c.l.mu.Lock()
		c.l.set = append(c.l.set, d.Round(time.Millisecond))
		c.l.mu.Unlock()
	}
	return c.Conn.SetReadDeadline(t)
}
