// Package eventbridge publishes Fedele's events to an EventBridge bus with
// aws-sdk-go-v2's PutEvents: at most 10 entries a call, entries over 256 KB
// refused before they are sent, and retries of exactly the entries a
// response marks failed (or of the whole call when it is throttled).
//
// It must never decide what an event means, and never report an event
// delivered unless EventBridge answered an event id for it.
package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/awsconfig"
)

// EventBridge's limits.
const (
	MaxEntriesPerCall = 10
	MaxEntryBytes     = 256 * 1024
)

// ErrTooLarge is the permanent error of an event over MaxEntryBytes: it is
// never sent, and the caller must dead-letter it (it is an
// events.ErrUndeliverable).
var ErrTooLarge = fmt.Errorf("event over EventBridge's 256 KB entry limit: %w", events.ErrUndeliverable)

// Publisher is an events.Publisher on one bus.
type Publisher struct {
	client   *eventbridge.Client
	bus      string
	attempts int
	base     time.Duration

	calls, sent, retried atomic.Int64
}

var _ events.Publisher = (*Publisher)(nil)

// Option changes a Publisher.
type Option func(*Publisher)

// WithRetries sets how many times an entry is tried and the first backoff.
func WithRetries(attempts int, base time.Duration) Option {
	return func(p *Publisher) { p.attempts, p.base = max(attempts, 1), base }
}

// New returns a publisher to bus through client.
func New(client *eventbridge.Client, bus string, opts ...Option) *Publisher {
	p := &Publisher{client: client, bus: bus, attempts: 5, base: 100 * time.Millisecond}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Connect makes a client from the standard AWS configuration chain. With an
// endpoint and no credentials in the environment it uses dummy ones. The
// SDK's own retryer is left at one attempt: Publisher retries, entry by
// entry, which the SDK cannot.
func Connect(ctx context.Context, endpoint string) (*eventbridge.Client, error) {
	cfg, err := awsconfig.Load(ctx, endpoint, config.WithRetryMaxAttempts(1))
	if err != nil {
		return nil, err
	}
	return eventbridge.NewFromConfig(cfg, func(o *eventbridge.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Stats counts PutEvents calls, entries sent, and entries sent again.
func (p *Publisher) Stats() (calls, sent, retried int64) {
	return p.calls.Load(), p.sent.Load(), p.retried.Load()
}

// entrySize is an entry's size as EventBridge counts it.
func entrySize(e types.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	if e.Time != nil {
		n += 14
	}
	return n
}

// Publish sends evs and returns one error per event, nil for each one
// EventBridge accepted.
func (p *Publisher) Publish(ctx context.Context, evs []events.Envelope) []error {
	errs := make([]error, len(evs))
	var pending []int // indexes of evs still to send
	entries := make([]types.PutEventsRequestEntry, len(evs))
	for i, ev := range evs {
		detail, err := json.Marshal(ev.Detail)
		if err != nil {
			errs[i] = fmt.Errorf("event %s: encode detail: %v: %w", ev.Detail.EventID, err, events.ErrUndeliverable)
			continue
		}
		entries[i] = types.PutEventsRequestEntry{
			Source: aws.String(ev.Source), DetailType: aws.String(string(ev.DetailType)), Detail: aws.String(string(detail)),
			EventBusName: aws.String(p.bus), Time: aws.Time(ev.Detail.Time),
		}
		if n := entrySize(entries[i]); n > MaxEntryBytes {
			errs[i] = fmt.Errorf("event %s is %d bytes: %w", ev.Detail.EventID, n, ErrTooLarge)
			continue
		}
		pending = append(pending, i)
		errs[i] = errors.New("not sent") // until EventBridge says otherwise
	}
	for attempt := 0; len(pending) > 0 && attempt < p.attempts; attempt++ {
		if attempt > 0 {
			if err := p.wait(ctx, attempt); err != nil {
				for _, i := range pending {
					errs[i] = fmt.Errorf("event %s: %w", evs[i].Detail.EventID, err)
				}
				return errs
			}
			p.retried.Add(int64(len(pending)))
		}
		var failed []int
		for start := 0; start < len(pending); start += MaxEntriesPerCall {
			chunk := pending[start:min(start+MaxEntriesPerCall, len(pending))]
			failed = append(failed, p.call(ctx, evs, entries, chunk, errs)...)
		}
		pending = failed
	}
	return errs
}

// call sends one chunk and returns the indexes that failed in a way worth
// retrying; permanent and final errors are left in errs.
func (p *Publisher) call(ctx context.Context, evs []events.Envelope, entries []types.PutEventsRequestEntry, chunk []int, errs []error) []int {
	in := &eventbridge.PutEventsInput{Entries: make([]types.PutEventsRequestEntry, len(chunk))}
	for j, i := range chunk {
		in.Entries[j] = entries[i]
	}
	p.calls.Add(1)
	p.sent.Add(int64(len(chunk)))
	out, err := p.client.PutEvents(ctx, in)
	if err != nil {
		// The whole call failed (throttled, unreachable, 5xx): every entry
		// of it is retried.
		for _, i := range chunk {
			errs[i] = fmt.Errorf("event %s: put events: %w", evs[i].Detail.EventID, err)
		}
		return chunk
	}
	var failed []int
	for j, i := range chunk {
		if j >= len(out.Entries) {
			errs[i] = fmt.Errorf("event %s: no result entry in the answer", evs[i].Detail.EventID)
			failed = append(failed, i)
			continue
		}
		r := out.Entries[j]
		if r.ErrorCode == nil && r.EventId != nil {
			errs[i] = nil
			continue
		}
		errs[i] = fmt.Errorf("event %s: entry %d: %s: %s", evs[i].Detail.EventID, j, aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage))
		failed = append(failed, i)
	}
	return failed
}

func (p *Publisher) wait(ctx context.Context, attempt int) error {
	d := p.base << (attempt - 1)
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
