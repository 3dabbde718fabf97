package httpapi

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core"
	"github.com/fedele-crm/fedele/core/backtest"
	"github.com/fedele-crm/fedele/core/commerce"
	"github.com/fedele-crm/fedele/core/customers"
	"github.com/fedele-crm/fedele/core/jobs"
	"github.com/fedele-crm/fedele/core/journeys"
	"github.com/fedele-crm/fedele/core/messaging"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/scoring"
)

// closedSets are the domain's closed sets of values, each a Go type with
// its list. The API's schema of every field or parameter of one of these
// types takes its enum from the list, so no struct tag repeats it (and none
// can drift from it): core must not import huma, so the types cannot say
// it themselves.
var closedSets = []closedSet{
	setOf(core.Stages),
	setOf(core.Sources),
	setOf(core.ConsentStatuses),
	setOf(core.Scopes),
	setOf(core.Entities),
	setOf(core.FieldTypes),
	setOf(core.StageKinds),
	setOf(core.DealOutcomes),
	setOf(plugins.Kinds),
	setOf(core.Deciders),
	setOf(scoring.JobKinds),
	setOf(scoring.JobStatuses),
	setOf(commerce.OrderStatuses),
	setOf(commerce.Channels),
	setOf(commerce.RelationKinds),
	setOf(customers.CLVUnits),
	setOf(customers.CLVFitStatuses),
	setOf(backtest.Outcomes),
	setOf(jobs.Statuses),
	setOf(customers.Bases),
	setOf(customers.States),
	setOf(messaging.Channels),
	setOf(messaging.Statuses),
	setOf(messaging.Reasons),
	setOf(messaging.OnCaps),
	setOf(messaging.Priorities),
	setOf(messaging.ReceiptTypes),
	setOf(messaging.Bounces),
	setOf(journeys.Statuses),
	setOf(journeys.TriggerKinds),
	setOf(journeys.StepTypes),
	setOf(journeys.ReentryModes),
	setOf(journeys.EnrolmentStates),
	setOf(journeys.Actions),
}

// closedSet is one Go type and its values, in their order.
type closedSet struct {
	typ, schema reflect.Type
	values      []any
}

func setOf[T ~string](values []T) closedSet {
	vs := make([]any, len(values))
	for i, v := range values {
		vs[i] = string(v) // huma validates decoded JSON and parameters: plain strings
	}
	return closedSet{typ: reflect.TypeFor[T](), schema: reflect.TypeFor[enumSchema[T]](), values: vs}
}

var enumValues = func() map[reflect.Type][]any {
	m := map[reflect.Type][]any{}
	for _, c := range closedSets {
		m[c.typ] = c.values
	}
	return m
}()

// enumSchema stands for T in the registry: its schema is a string limited
// to T's values.
type enumSchema[T ~string] struct{}

// Schema implements huma.SchemaProvider.
func (enumSchema[T]) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Enum: enumValues[reflect.TypeFor[T]()]}
}

// registerClosedSets makes r describe each closed set's type by its list.
func registerClosedSets(r huma.Registry) {
	for _, c := range closedSets {
		r.RegisterTypeAlias(c.typ, c.schema)
	}
}
