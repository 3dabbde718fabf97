package timers

import (
	"context"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/store"
)

// ScheduleWrite is Schedule as a write for the caller's own transaction —
// a consumer's effect, or a timer handler's next timer — so that a timer
// exists exactly when the change that asks for it commits, and a retried
// transaction cannot leave a second one behind. The timer's id is a new
// ULID unless req has a key. The local loop is woken for it now, before
// the caller commits: a loop that looks before the commit sees it at its
// next wake instead.
func (s *Service) ScheduleWrite(ctx context.Context, tenant string, req core.TimerRequest) (core.Timer, store.Write, error) {
	t, w, err := s.newTimer(ctx, tenant, req)
	if err == nil {
		s.notify(t.Next)
	}
	return t, w, err
}

// ScheduleWriteOnce is ScheduleWrite for a keyed timer that may be kept
// already (an earlier path scheduled the same key): then ok is false and
// there is nothing to write, where ScheduleWrite's write would fail the
// caller's whole transaction, and with it every retry of it.
func (s *Service) ScheduleWriteOnce(ctx context.Context, tenant string, req core.TimerRequest) (t core.Timer, w store.Write, ok bool, err error) {
	if req.Key == "" {
		return t, w, false, core.Invalid("key", "a timer scheduled once needs a key", "")
	}
	t, err = s.Get(ctx, tenant, keyedID(req.Kind, req.Key))
	if err == nil {
		return t, w, false, nil
	}
	if core.ErrorCode(err) != core.CodeNotFound {
		return t, w, false, err
	}
	t, w, err = s.ScheduleWrite(ctx, tenant, req)
	return t, w, err == nil, err
}

// CancelWrite is Cancel as a write for the caller's own transaction,
// guarded by the version read; ok is false when there is nothing to cancel
// (the timer fired, was cancelled, or is gone).
func (s *Service) CancelWrite(ctx context.Context, tenant, id string) (w store.Write, ok bool, err error) {
	t, v, err := s.get(ctx, tenant, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return store.Write{}, false, nil
	}
	if err != nil || t.State != core.TimerPending {
		return store.Write{}, false, err
	}
	t.State, t.DoneAt = core.TimerCancelled, s.now()
	w, err = timerDoc.Put(timerKey(tenant, id), v, &t)
	return w, err == nil, err
}
