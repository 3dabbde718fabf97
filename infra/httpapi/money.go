package httpapi

import (
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/fedele-crm/fedele/core/money"
)

// totalSchema stands for money.Total in the registry: core cannot say how
// huma should describe it, and by its fields it would be an empty object.
type totalSchema struct{}

// Schema implements huma.SchemaProvider: an integer without an int64
// format, since a report's total may lie beyond it.
func (totalSchema) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeInteger, Description: "Minor units, exact; may exceed 2^63−1 (and 2^53, where a float64 stops being exact)."}
}

// registerMoney makes r describe money's types as the JSON they are.
func registerMoney(r huma.Registry) {
	r.RegisterTypeAlias(reflect.TypeFor[money.Total](), reflect.TypeFor[totalSchema]())
}
