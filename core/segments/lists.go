package segments

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/record"
	"github.com/fedele-crm/fedele/core/store"
)

// MaxBatch is how many members one call adds to or removes from a list.
const MaxBatch = 1000

// MemberRef names a contact by id or by e-mail address (one of the two).
type MemberRef struct {
	ContactID string `json:"contact_id,omitempty" maxLength:"26"`
	Email     string `json:"email,omitempty" maxLength:"254"`
}

// Outcomes of one element of a batch.
const (
	OutcomeAdded     = "added"
	OutcomeRemoved   = "removed"
	OutcomeUnchanged = "unchanged" // already in (add) or not in (remove)
	OutcomeNotFound  = "not_found"
	OutcomeInvalid   = "invalid"
	OutcomeFailed    = "failed"
)

// Outcomes lists every outcome.
var Outcomes = []string{OutcomeAdded, OutcomeRemoved, OutcomeUnchanged, OutcomeNotFound, OutcomeInvalid, OutcomeFailed}

// BatchResult is what happened to one element of a batch, in the order
// given.
type BatchResult struct {
	Index     int    `json:"index"`
	ContactID string `json:"contact_id,omitempty"`
	Outcome   string `json:"outcome" enum:"added,removed,unchanged,not_found,invalid,failed"` // Outcomes
	Message   string `json:"message,omitempty"`
}

// ChangeMembers adds (add true) or removes contacts of a list, each in a
// transaction of its own (member item, the contact's state, the event),
// so that one bad element fails alone.
func (s *Service) ChangeMembers(ctx context.Context, tenant, listID string, add bool, refs []MemberRef) ([]BatchResult, error) {
	if len(refs) == 0 || len(refs) > MaxBatch {
		return nil, core.Invalid("members", fmt.Sprintf("must hold 1 to %d members", MaxBatch), len(refs))
	}
	list, err := s.Get(ctx, tenant, Static, listID)
	if err != nil {
		return nil, err
	}
	out := make([]BatchResult, len(refs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, r := range refs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = s.changeOne(ctx, tenant, list, add, i, r)
		}()
	}
	wg.Wait()
	return out, nil
}

func (s *Service) changeOne(ctx context.Context, tenant string, list Segment, add bool, i int, r MemberRef) BatchResult {
	res := BatchResult{Index: i}
	id := r.ContactID
	switch {
	case (id == "") == (r.Email == ""):
		res.Outcome, res.Message = OutcomeInvalid, "give contact_id or email, not both"
		return res
	case id == "":
		c, err := s.contacts.ByEmail(ctx, tenant, r.Email)
		if core.ErrorCode(err) == core.CodeNotFound {
			res.Outcome, res.Message = OutcomeNotFound, "no contact has this e-mail"
			return res
		} else if err != nil {
			res.Outcome, res.Message = OutcomeFailed, "could not read the contact; retry"
			return res
		}
		id = c.ID
	}
	res.ContactID = id
	for attempt := 0; attempt <= record.MaxRetries; attempt++ {
		ins, err := s.inputs(ctx, tenant, []string{id})
		if err != nil {
			res.Outcome, res.Message = OutcomeFailed, "could not read the contact; retry"
			return res
		}
		if len(ins) == 0 {
			res.Outcome, res.Message = OutcomeNotFound, "no such contact"
			return res
		}
		l := ins[0]
		if _, in := l.State.In[list.ID]; in == add {
			res.Outcome = OutcomeUnchanged
			return res
		}
		now := s.now()
		writes, err := changeWrites(ctx, tenant, list, id, add, now)
		if err == nil {
			if add {
				l.State.In[list.ID] = now
			} else {
				delete(l.State.In, list.ID)
			}
			var w store.Write
			w, err = stateDoc.Put(stateKey(tenant, id), l.Version, &l.State)
			writes = append([]store.Write{w}, writes...)
		}
		if err == nil {
			err = s.store.Transact(ctx, writes)
		}
		if err == nil {
			res.Outcome = OutcomeAdded
			if !add {
				res.Outcome = OutcomeRemoved
			}
			return res
		}
		var tc *store.TxCancelledError
		if !errors.As(err, &tc) || tc.Index != 0 {
			break
		}
	}
	res.Outcome, res.Message = OutcomeFailed, "the contact changed concurrently; retry"
	return res
}
