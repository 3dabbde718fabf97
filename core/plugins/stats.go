package plugins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// Stats is how a version behaves on live calls (dry runs excluded).
type Stats struct {
	Calls     int64            `json:"calls"`
	Records   int64            `json:"records"`
	Failures  map[string]int64 `json:"failures_by_class"`
	FuelUsed  int64            `json:"fuel_used"`
	Histogram []int64          `json:"duration_histogram" doc:"Calls per duration bucket; the bounds are duration_bounds_ms."`
	Bounds    []float64        `json:"duration_bounds_ms"`
	P50Ms     float64          `json:"p50_ms" doc:"The upper bound of the bucket holding the median call."`
	P99Ms     float64          `json:"p99_ms"`
	Updated   time.Time        `json:"updated_at,omitzero"`
}

// durationBounds are the histogram's upper bounds; the last bucket is
// everything slower.
var durationBounds = []time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

func statsKey(tenant, name string, number int) store.Key {
	return store.Key{PK: store.Tenant(tenant).PK("plugin", name, "stats"), SK: fmt.Sprintf("v#%06d", number)}
}

// record adds one call to s.
func (s *Stats) record(records int, d time.Duration, fuel int64, class string) {
	if len(s.Histogram) != len(durationBounds)+1 {
		s.Histogram = make([]int64, len(durationBounds)+1)
	}
	s.Calls++
	s.Records += int64(records)
	s.FuelUsed += fuel
	i := 0
	for i < len(durationBounds) && d > durationBounds[i] {
		i++
	}
	s.Histogram[i]++
	if class != "" {
		if s.Failures == nil {
			s.Failures = map[string]int64{}
		}
		s.Failures[class]++
	}
}

// summarise fills the percentiles and bounds for a reader.
func (s *Stats) summarise() {
	if s.Failures == nil {
		s.Failures = map[string]int64{}
	}
	s.Bounds = make([]float64, len(durationBounds))
	for i, b := range durationBounds {
		s.Bounds[i] = float64(b) / float64(time.Millisecond)
	}
	quantile := func(q float64) float64 {
		need := int64(q*float64(s.Calls) + 0.999999)
		var seen int64
		for i, n := range s.Histogram {
			seen += n
			if seen >= need && need > 0 {
				if i < len(s.Bounds) {
					return s.Bounds[i]
				}
				return s.Bounds[len(s.Bounds)-1] // beyond the last bound: at least that
			}
		}
		return 0
	}
	s.P50Ms, s.P99Ms = quantile(0.50), quantile(0.99)
}

// Stats returns a version's stats.
func (r *Registry) Stats(ctx context.Context, tenant, name string, number int) (Stats, error) {
	if _, _, err := r.version(ctx, tenant, name, number); err != nil {
		return Stats{}, err
	}
	var s Stats
	if _, err := getJSON(ctx, r.store, statsKey(tenant, name, number), &s); err != nil && !errors.Is(err, store.ErrNotFound) {
		return s, err
	}
	s.summarise()
	return s, nil
}

// recordCall adds a call to a version's stats.
func (r *Registry) recordCall(ctx context.Context, tenant string, ref Ref, records int, d time.Duration, fuel int64, class string) error {
	return update(ctx, r, statsKey(tenant, ref.Name, ref.Version), func(s *Stats) {
		s.record(records, d, fuel, class)
		s.Updated = r.now().UTC()
		s.Bounds, s.P50Ms, s.P99Ms = nil, 0, 0
	})
}

// update is a read-modify-write of the document at k under a version
// condition. Stats and comparisons are best effort: a write that keeps
// losing races to concurrent calls is dropped.
func update[T any](ctx context.Context, r *Registry, k store.Key, change func(*T)) error {
	for attempt := 0; attempt <= maxRetries; attempt++ {
		var doc T
		v, err := getJSON(ctx, r.store, k, &doc)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		change(&doc)
		w, err := putJSON(k, v, doc)
		if err != nil {
			return err
		}
		err = r.store.Transact(ctx, []store.Write{w})
		if record.IsRace(err) {
			continue
		}
		return record.StoreError(err)
	}
	return fmt.Errorf("update %s: too many concurrent writers", k)
}

// Comparison is how a shadow version's answers compare with what was
// applied, on the records both decided.
type Comparison struct {
	Runs      int64          `json:"runs"`
	Records   int64          `json:"records"`
	Agreed    int64          `json:"agreed"`
	Disagreed int64          `json:"disagreed"`
	Failures  int64          `json:"failures"`
	Samples   []Disagreement `json:"samples,omitempty" doc:"The latest disagreements, newest last."`
	Updated   time.Time      `json:"updated_at,omitzero"`
}

// Disagreement is one record the shadow decided otherwise.
type Disagreement struct {
	At      time.Time       `json:"at"`
	Applied json.RawMessage `json:"applied"`
	Shadow  json.RawMessage `json:"shadow"`
}

const maxSamples = 10

func comparisonKey(tenant, name string, number int) store.Key {
	return store.Key{PK: store.Tenant(tenant).PK("plugin", name, "shadow"), SK: fmt.Sprintf("v#%06d", number)}
}

// Comparison returns how a version did in shadow.
func (r *Registry) Comparison(ctx context.Context, tenant, name string, number int) (Comparison, error) {
	if _, _, err := r.version(ctx, tenant, name, number); err != nil {
		return Comparison{}, err
	}
	var c Comparison
	if _, err := getJSON(ctx, r.store, comparisonKey(tenant, name, number), &c); err != nil && !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	return c, nil
}

func (r *Registry) recordComparison(ctx context.Context, tenant string, ref Ref, change func(*Comparison)) error {
	return update(ctx, r, comparisonKey(tenant, ref.Name, ref.Version), func(c *Comparison) {
		change(c)
		if len(c.Samples) > maxSamples {
			c.Samples = c.Samples[len(c.Samples)-maxSamples:]
		}
		c.Updated = r.now().UTC()
	})
}
