package segments

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/env"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	"github.com/fedele-crm/fedele/core"
)

// Limits on an expression. MaxCost is in CEL's cost units (about one per
// field read, comparison or list element visited): the checker's worst
// case for a saved expression must stay under it, and an evaluation that
// somehow exceeds it stops there, so no segment can be made expensive.
const (
	MaxExpressionBytes = 4096
	MaxCost            = 5000
)

// Sizes the cost estimator assumes for the view's lists, maps and
// strings: the contact's limits (core.MaxTags, ...), and generous bounds
// where there is none, so the estimate is a real worst case.
var sizes = map[string]uint64{
	"contact.tags": core.MaxTags, "contact.emails": core.MaxEmails, "contact.phones": core.MaxPhones,
	"contact.custom": core.MaxFieldDefs, "company.custom": core.MaxFieldDefs,
	"purchases.categories": 200, "purchases.revenue": 20,
}

const defaultStringSize = 1000

// historyType is the opaque type of the hidden argument the behavioural
// functions' macros pass.
var historyType = cel.OpaqueType("segments.History")

// HistoryVal makes *History a CEL value without exposing its fields.
func (h *History) ConvertToNative(reflect.Type) (any, error) { return h, nil }

// ConvertToType is part of ref.Val.
func (h *History) ConvertToType(t ref.Type) ref.Val {
	return types.NewErr("history cannot be converted to %s", t.TypeName())
}

// Equal is part of ref.Val.
func (h *History) Equal(o ref.Val) ref.Val { return types.Bool(h == o) }

// Type is part of ref.Val.
func (h *History) Type() ref.Type { return historyType }

// Value is part of ref.Val.
func (h *History) Value() any { return h }

const historyVar = "__history"

// behavioural are the functions that read the contact's history, each
// with its argument counts: a macro turns name(args) into
// _name(__history, args).
var behavioural = map[string][]int{
	"ordered": {1, 2}, "orders_within": {1}, "spent_within": {2}, "did": {1, 2}, "days_since": {1}, "birthday_in": {1},
}

var envOnce = sync.OnceValues(newEnv)

func newEnv() (*cel.Env, error) {
	opts := []cel.EnvOption{
		// duration("90d"): CEL's own duration() knows no days, which is
		// what segments count in, so ours replaces it (same name, d and w
		// added to Go's units).
		cel.StdLib(cel.StdLibSubset(&env.LibrarySubset{ExcludeFunctions: []*env.Function{
			{Name: "duration", Overloads: []*env.Overload{{ID: "string_to_duration"}}},
		}})),
		ext.NativeTypes(reflect.TypeFor[ContactView](), reflect.TypeFor[CompanyView](), reflect.TypeFor[PurchasesView](),
			reflect.TypeFor[RFMView](), reflect.TypeFor[LifecycleView](), reflect.TypeFor[CLVView](), ext.ParseStructTags(true)),
		cel.Variable("contact", cel.ObjectType("segments.ContactView")),
		cel.Variable("company", cel.ObjectType("segments.CompanyView")),
		cel.Variable("purchases", cel.ObjectType("segments.PurchasesView")),
		cel.Variable("rfm", cel.ObjectType("segments.RFMView")),
		cel.Variable("lifecycle", cel.ObjectType("segments.LifecycleView")),
		cel.Variable("clv", cel.ObjectType("segments.CLVView")),
		cel.Variable("score", cel.IntType),
		cel.Variable("last_order", cel.TimestampType),
		cel.Variable("now", cel.TimestampType),
		cel.Variable(historyVar, historyType),
		cel.Function("duration", cel.Overload("segments_string_to_duration", []*cel.Type{cel.StringType}, cel.DurationType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				d, err := ParseDuration(string(v.(types.String)))
				if err != nil {
					return types.NewErr("%v", err)
				}
				return types.Duration{Duration: d}
			}))),
		cel.Function("_ordered",
			cel.Overload("segments_ordered_ever", []*cel.Type{historyType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(h, c ref.Val) ref.Val { return types.Bool(h.(*History).ordered(string(c.(types.String)), -1)) })),
			cel.Overload("segments_ordered_within", []*cel.Type{historyType, cel.StringType, cel.DurationType}, cel.BoolType,
				cel.FunctionBinding(func(a ...ref.Val) ref.Val {
					return types.Bool(a[0].(*History).ordered(string(a[1].(types.String)), a[2].(types.Duration).Duration))
				}))),
		cel.Function("_orders_within", cel.Overload("segments_orders_within", []*cel.Type{historyType, cel.DurationType}, cel.IntType,
			cel.BinaryBinding(func(h, d ref.Val) ref.Val { return types.Int(h.(*History).ordersWithin(d.(types.Duration).Duration)) }))),
		cel.Function("_spent_within", cel.Overload("segments_spent_within", []*cel.Type{historyType, cel.StringType, cel.DurationType}, cel.IntType,
			cel.FunctionBinding(func(a ...ref.Val) ref.Val {
				return types.Int(a[0].(*History).spentWithin(string(a[1].(types.String)), a[2].(types.Duration).Duration))
			}))),
		cel.Function("_did",
			cel.Overload("segments_did_ever", []*cel.Type{historyType, cel.StringType}, cel.BoolType,
				cel.BinaryBinding(func(h, t ref.Val) ref.Val { return types.Bool(h.(*History).did(string(t.(types.String)), -1)) })),
			cel.Overload("segments_did_within", []*cel.Type{historyType, cel.StringType, cel.DurationType}, cel.BoolType,
				cel.FunctionBinding(func(a ...ref.Val) ref.Val {
					return types.Bool(a[0].(*History).did(string(a[1].(types.String)), a[2].(types.Duration).Duration))
				}))),
		cel.Function("_days_since", cel.Overload("segments_days_since", []*cel.Type{historyType, cel.TimestampType}, cel.IntType,
			cel.BinaryBinding(func(h, t ref.Val) ref.Val { return types.Int(h.(*History).daysSince(t.(types.Timestamp).Time)) }))),
		cel.Function("_birthday_in", cel.Overload("segments_birthday_in", []*cel.Type{historyType, cel.DurationType}, cel.BoolType,
			cel.BinaryBinding(func(h, d ref.Val) ref.Val { return types.Bool(h.(*History).birthdayIn(d.(types.Duration).Duration)) }))),
	}
	for name, counts := range behavioural {
		for _, n := range counts {
			opts = append(opts, cel.Macros(cel.GlobalMacro(name, n, func(eh cel.MacroExprFactory, _ ast.Expr, args []ast.Expr) (ast.Expr, *common.Error) {
				return eh.NewCall("_"+name, append([]ast.Expr{eh.NewIdent(historyVar)}, args...)...), nil
			})))
		}
	}
	return cel.NewCustomEnv(opts...)
}

// ParseDuration reads a duration as Go does ("36h", "90m"), with days
// ("90d") and weeks ("2w") of 24 hours and 7 days added.
func ParseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9') {
			i++
		}
		if i == 0 || i == len(rest) {
			break
		}
		n, err := strconv.ParseInt(rest[:i], 10, 32)
		if err != nil || n > 36600 {
			return 0, fmt.Errorf("duration %q is out of range", s)
		}
		unit := rest[i]
		switch unit {
		case 'd':
			total += time.Duration(n) * 24 * time.Hour
		case 'w':
			total += time.Duration(n) * 7 * 24 * time.Hour
		default:
			d, err := time.ParseDuration(rest)
			if err != nil {
				return 0, fmt.Errorf("duration %q: want a number and a unit (d, w, h, m, s)", s)
			}
			return total + d, nil
		}
		rest = rest[i+1:]
	}
	if rest != "" || s == "" {
		return 0, fmt.Errorf("duration %q: want a number and a unit (d, w, h, m, s)", s)
	}
	return total, nil
}

// Program is a compiled, checked expression: what evaluations reuse.
type Program struct {
	Expression string
	prg        cel.Program
	// timed says the expression reads the time (now, or a behavioural
	// function): only then can its result change with time alone.
	timed bool
	// durations and numbers are the expression's constants, from which
	// the instants its result may flip at are computed.
	durations []time.Duration
	numbers   []int64
}

var (
	durationLit = regexp.MustCompile(`duration\(\s*(?:"([^"]*)"|'([^']*)')\s*\)`)
	numberLit   = regexp.MustCompile(`\b\d{1,5}\b`)
	timedWord   = regexp.MustCompile(`\b(now|ordered|orders_within|spent_within|did|days_since|birthday_in)\b`)
)

// Compile parses and type-checks an expression against the contact view
// and bounds its cost. A fault is a 422 at field (with line, column and
// byte offset in the message), never a panic.
func Compile(field, expression string) (*Program, error) {
	if strings.TrimSpace(expression) == "" {
		return nil, core.Invalid(field, "is required", nil)
	}
	if len(expression) > MaxExpressionBytes {
		return nil, core.Invalid(field, fmt.Sprintf("is longer than %d bytes", MaxExpressionBytes), nil)
	}
	if !utf8.ValidString(expression) {
		return nil, core.Invalid(field, "is not UTF-8", nil)
	}
	e, err := envOnce()
	if err != nil {
		return nil, fmt.Errorf("segment environment: %w", err)
	}
	checked, iss := e.Compile(expression)
	if iss != nil && iss.Err() != nil {
		return nil, issueProblem(field, expression, iss)
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, core.Invalid(field, fmt.Sprintf("must be a condition (bool), not %s", checked.OutputType()), nil)
	}
	est, err := e.EstimateCost(checked, estimator{})
	if err != nil {
		return nil, core.Invalid(field, "cost cannot be estimated: "+err.Error(), nil)
	}
	if est.Max > MaxCost {
		return nil, core.Invalid(field, fmt.Sprintf("is too expensive: its worst case costs %d, over the limit of %d (iterate less over lists, or nest fewer loops)", est.Max, MaxCost), nil)
	}
	prg, err := e.Program(checked, cel.CostLimit(MaxCost), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, core.Invalid(field, err.Error(), nil)
	}
	p := &Program{Expression: expression, prg: prg, timed: timedWord.MatchString(expression)}
	for _, m := range durationLit.FindAllStringSubmatch(expression, -1) {
		if d, err := ParseDuration(m[1] + m[2]); err == nil && d > 0 {
			p.durations = append(p.durations, d)
		}
	}
	for _, m := range numberLit.FindAllString(expression, -1) {
		if n, err := strconv.ParseInt(m, 10, 64); err == nil && n <= 36600 {
			p.numbers = append(p.numbers, n)
		}
	}
	slices.Sort(p.durations)
	p.durations = slices.Compact(p.durations)
	slices.Sort(p.numbers)
	p.numbers = slices.Compact(p.numbers)
	return p, nil
}

// IssueProblem is a CEL compile failure as the problem every area that
// takes an expression answers (segments, journey filters, campaign goals):
// the first issue, at field, with its line, column and byte offset.
func IssueProblem(field, expression string, iss *cel.Issues) error {
	return issueProblem(field, expression, iss)
}

// issueProblem is the first issue as a field error naming where it is.
func issueProblem(field, expression string, iss *cel.Issues) error {
	errs := iss.Errors()
	if len(errs) == 0 {
		return core.Invalid(field, iss.Err().Error(), nil)
	}
	first := errs[0]
	line, col := first.Location.Line(), first.Location.Column()
	offset := offsetOf(expression, line, col)
	msg := strings.ReplaceAll(first.Message, historyVar+", ", "")
	msg = strings.ReplaceAll(msg, "segments.History, ", "")
	for name := range behavioural {
		msg = strings.ReplaceAll(msg, "'_"+name+"'", "'"+name+"'")
	}
	return &core.Error{Code: core.CodeInvalid, Message: "the expression does not compile",
		Fields: []core.FieldError{{Path: field, Message: fmt.Sprintf("%d:%d (offset %d): %s", line, col+1, offset, msg),
			Value: map[string]int{"line": line, "column": col + 1, "offset": offset}}}}
}

// offsetOf is the byte offset of a 1-based line and 0-based column
// (counted in runes, as CEL counts).
func offsetOf(s string, line, col int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			return len(s)
		}
		off += i + 1
	}
	for c := 0; c < col && off < len(s); c++ {
		_, n := utf8.DecodeRuneInString(s[off:])
		off += n
	}
	return off
}

// estimator gives the checker the sizes of the view's collections and the
// costs of the behavioural functions (each reads at most the contact's
// days or event types: a few hundred steps).
type estimator struct{}

func (estimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	if p := n.Path(); len(p) > 0 {
		if s, ok := sizes[strings.Join(p, ".")]; ok {
			return &checker.SizeEstimate{Min: 0, Max: s}
		}
	}
	switch n.Type().Kind() {
	case types.StringKind, types.BytesKind:
		return &checker.SizeEstimate{Min: 0, Max: defaultStringSize}
	case types.ListKind, types.MapKind:
		return &checker.SizeEstimate{Min: 0, Max: 100}
	}
	return nil
}

func (estimator) EstimateCallCost(function, _ string, _ *checker.AstNode, _ []checker.AstNode) *checker.CallEstimate {
	if strings.HasPrefix(function, "_") {
		return &checker.CallEstimate{CostEstimate: checker.CostEstimate{Min: 1, Max: 50}}
	}
	return nil
}

// ErrCost is an evaluation stopped by the cost limit.
var ErrCost = errors.New("segment evaluation over its cost limit")
