package journeys

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/segments"
)

// MaxFilterCost bounds an event filter's evaluation (CEL cost units).
const MaxFilterCost = 10_000

// eventFilter is a compiled CEL condition over one event: `entity` is its
// entity data (the order, the message, the contact...), `event` holds its
// type and time.
type eventFilter struct {
	prg cel.Program
}

var filterEnv = sync.OnceValues(func() (*cel.Env, error) {
	return cel.NewEnv(
		cel.Variable("entity", cel.DynType),
		cel.Variable("event", cel.MapType(cel.StringType, cel.DynType)),
	)
})

// compileFilter compiles a filter; an empty one matches every event. A
// fault is a 422 at path with line, column and byte offset.
func compileFilter(path, expr string) (*eventFilter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	if len(expr) > 4096 || !utf8.ValidString(expr) {
		return nil, core.Invalid(path, "must be UTF-8 text of at most 4096 bytes", nil)
	}
	env, err := filterEnv()
	if err != nil {
		return nil, fmt.Errorf("journey filter environment: %w", err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, segments.IssueProblem(path, expr, iss)
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) && !t.IsExactType(cel.DynType) {
		return nil, core.Invalid(path, fmt.Sprintf("must be a condition (bool), not %s", t), nil)
	}
	prg, err := env.Program(ast, cel.CostLimit(MaxFilterCost))
	if err != nil {
		return nil, core.Invalid(path, err.Error(), nil)
	}
	return &eventFilter{prg: prg}, nil
}

// match evaluates f on ev; a nil filter matches. An evaluation error (a
// field the event lacks) is no match, never a failure of the consumer.
func (f *eventFilter) match(ev events.Envelope) bool {
	if f == nil {
		return true
	}
	var entity any
	if len(ev.Detail.Entity.Data) > 0 {
		if err := json.Unmarshal(ev.Detail.Entity.Data, &entity); err != nil {
			return false
		}
	}
	out, _, err := f.prg.Eval(map[string]any{"entity": entity,
		"event": map[string]any{"type": string(ev.DetailType), "time": ev.Detail.Time}})
	if err != nil {
		return false
	}
	b, ok := out.Value().(bool)
	return ok && b
}

// duration is a span of minutes to years: a fixed part, and calendar
// months added on the tenant's calendar so that "3mo" after 10 March 09:00
// is 10 June 09:00 local whatever the DST changes between. A month from
// 31 January normalises as Go's AddDate does (3 March).
type duration struct {
	fixed  time.Duration
	months int
}

func (d duration) zero() bool { return d.fixed == 0 && d.months == 0 }

// after is t plus d, months counted on the calendar of loc.
func (d duration) after(t time.Time, loc *time.Location) time.Time {
	if d.months != 0 {
		t = t.In(loc).AddDate(0, d.months, 0)
	}
	return t.Add(d.fixed).UTC()
}

var errDuration = errors.New("want numbers with units: m (minutes), h, d, w, mo (months), y")

// parseDuration reads "30m", "36h", "1d", "2w", "3mo", "1y", "1d12h";
// at most 100 years.
func parseDuration(s string) (duration, error) {
	var d duration
	rest := strings.TrimSpace(s)
	if rest == "" {
		return d, errDuration
	}
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i > 6 {
			return d, errDuration
		}
		n, _ := strconv.Atoi(rest[:i])
		rest = rest[i:]
		unit := ""
		switch {
		case strings.HasPrefix(rest, "mo"):
			unit, rest = "mo", rest[2:]
		case rest != "":
			unit, rest = rest[:1], rest[1:]
		}
		switch unit {
		case "m":
			d.fixed += time.Duration(n) * time.Minute
		case "h":
			d.fixed += time.Duration(n) * time.Hour
		case "d":
			d.fixed += time.Duration(n) * 24 * time.Hour
		case "w":
			d.fixed += time.Duration(n) * 7 * 24 * time.Hour
		case "mo":
			d.months += n
		case "y":
			d.months += 12 * n
		default:
			return d, errDuration
		}
	}
	if d.months > 1200 || d.fixed > 100*366*24*time.Hour {
		return d, errors.New("at most 100 years")
	}
	return d, nil
}

// parseOffset is a signed duration of minutes to days ("9h", "-7d",
// "-1d9h"); empty is zero.
func parseOffset(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	neg := strings.HasPrefix(s, "-")
	d, err := parseDuration(strings.TrimPrefix(s, "-"))
	if err != nil || d.months != 0 || d.fixed > 366*24*time.Hour {
		return 0, errors.New("must be a signed offset of at most a year in m, h, d or w (9h, -7d)")
	}
	if neg {
		return -d.fixed, nil
	}
	return d.fixed, nil
}

// dateOf reads a contact's date property (birthday, custom.<key>) as a
// calendar date; ok is false when it has none or it is not a date.
func dateOf(c core.Contact, prop string) (y int, m time.Month, d int, ok bool) {
	var s string
	if prop == "birthday" {
		s = c.Birthday
	} else if k, found := strings.CutPrefix(prop, "custom."); found {
		s, _ = c.Custom[k].(string)
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, 0, 0, false
	}
	return t.Year(), t.Month(), t.Day(), true
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// onDay is local midnight of month/day in year y in loc plus offset. 29
// February falls on 28 February in a year that has none: the last day of
// the month the person was born in, never 1 March.
func onDay(y int, m time.Month, d int, loc *time.Location, offset time.Duration) time.Time {
	if m == time.February && d == 29 && !leap(y) {
		d = 28
	}
	return time.Date(y, m, d, 0, 0, 0, 0, loc).Add(offset).UTC()
}

// nextOccurrence is the first occurrence of a yearly date (plus offset)
// at or after from; for a one-off date, the date itself (which may be
// before from).
func nextOccurrence(y int, m time.Month, d int, yearly bool, offset time.Duration, loc *time.Location, from time.Time) time.Time {
	if !yearly {
		return onDay(y, m, d, loc, offset)
	}
	start := from.In(loc).Year() - 1
	for yy := start; yy < start+3; yy++ {
		if t := onDay(yy, m, d, loc, offset); !t.Before(from) {
			return t
		}
	}
	return onDay(start+3, m, d, loc, offset)
}

// windowStart is the first instant at or after t inside the window (the
// days, all when none, from..to local minutes) in loc.
func windowStart(t time.Time, days []string, from, to int, loc *time.Location) time.Time {
	lt := t.In(loc)
	for i := 0; i < 8; i++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+i, 0, 0, 0, 0, loc)
		if len(days) > 0 && !containsDay(days, day.Weekday()) {
			continue
		}
		open := time.Date(day.Year(), day.Month(), day.Day(), from/60, from%60, 0, 0, loc)
		shut := time.Date(day.Year(), day.Month(), day.Day(), to/60, to%60, 0, 0, loc)
		switch {
		case !lt.After(open):
			return open.UTC()
		case lt.Before(shut):
			return t.UTC()
		}
	}
	return t.UTC()
}

func containsDay(days []string, w time.Weekday) bool {
	for _, d := range days {
		if strings.EqualFold(d, Weekdays[w]) {
			return true
		}
	}
	return false
}
