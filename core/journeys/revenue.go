package journeys

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/money"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// orderChanges are the events after an order's placing that move what it
// brought in, and so the revenue of the journeys it converted.
var orderChanges = []events.Type{events.OrderUpdated, events.OrderCancelled, events.OrderRefunded}

// statsShard is the counters shard a contact's counts go to.
func statsShard(tenant, journeyID, contactID string) store.Key {
	h := fnv.New32a()
	h.Write([]byte(contactID))
	return statsKey(tenant, journeyID, int(h.Sum32()%StatShards))
}

// onOrderChange moves the revenue of every enrolment the order converted
// (and its journey's counters, in the journey and at the step the
// conversion was attributed to) to the order's net now: nothing once it is
// cancelled or refunded in full. The conversion stands. An event older
// than the one last applied (by the order's version) changes nothing.
func (s *Service) onOrderChange(ctx context.Context, tenant, contactID string, ev events.Envelope) ([]store.Write, error) {
	var o commerce.Order
	if err := json.Unmarshal(ev.Detail.Entity.Data, &o); err != nil || o.ID == "" {
		return nil, nil
	}
	var net int64
	if o.Counts() {
		net = o.Net()
	}
	var writes []store.Write
	err := s.eachEnrolment(ctx, tenant, contactID, func(_ store.Item, e JourneyEnrolment) error {
		if e.ConvertedOrder != o.ID || o.Version <= e.OrderVersion || o.Currency != e.Currency || net == e.Revenue ||
			len(writes) > store.MaxTxItems-20 { // the rest at the order's next change; one order converts few journeys
			return nil
		}
		delta := net - e.Revenue
		prev := e.Version
		e.Revenue, e.OrderVersion = net, o.Version
		ew, err := enrolmentDoc.Put(EnrolmentKey(tenant, contactID, e.JourneyID, e.ID), prev, &e)
		if err != nil {
			return err
		}
		k := statsShard(tenant, e.JourneyID, contactID)
		c, v, err := countersDoc.Get(ctx, s.store, k)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return err
		}
		change := map[string]int64{o.Currency: delta}
		if !addRevenue(&c.Revenue, change) || e.LastSent != "" && !addRevenue(&c.step(e.LastSent).Revenue, change) {
			s.log.WarnContext(ctx, "journey revenue overflows int64: not changed", "tenant", tenant, "journey", e.JourneyID)
			return nil
		}
		cw, err := countersDoc.Put(k, v, &c)
		if err != nil {
			return err
		}
		writes = append(writes, ew, cw)
		return nil
	})
	return writes, err
}

// eachEnrolment calls f with every enrolment of the contact, running or
// ended, in the order of their keys.
func (s *Service) eachEnrolment(ctx context.Context, tenant, contactID string, f func(store.Item, JourneyEnrolment) error) error {
	q := store.Query{PK: enrolmentsPK(tenant, contactID), Consistent: true}
	for {
		page, err := s.store.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("enrolments of %s: %w", contactID, record.StoreError(err))
		}
		for _, it := range page.Items {
			e, err := enrolmentDoc.Decode(it)
			if err != nil {
				return err
			}
			if err := f(it, e); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// addRevenue adds add to *to, checked: false (and nothing added) when a
// sum would overflow int64.
func addRevenue(to *map[string]int64, add map[string]int64) bool {
	sums := map[string]int64{}
	for cur, n := range add {
		sum, ok := money.Add((*to)[cur], n)
		if !ok {
			return false
		}
		sums[cur] = sum
	}
	if len(sums) > 0 && *to == nil {
		*to = map[string]int64{}
	}
	for cur, sum := range sums {
		(*to)[cur] = sum
	}
	return true
}
