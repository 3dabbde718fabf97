package plugins

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Project keeps, in every record of a batch, only the contact and company
// fields a plugin's manifest asks for (paths such as "contact.emails" or
// "contact.custom.budget"; "contact" alone keeps it whole); their ids are
// always kept. What the record carries besides — activities, orders, the
// item and candidates of a route — goes as it is. A plugin that does not
// need a contact's e-mail never sees it.
func Project(batch []byte, fields []string) ([]byte, error) {
	var records []map[string]json.RawMessage
	if err := json.Unmarshal(batch, &records); err != nil {
		return nil, fmt.Errorf("project the batch: %w", err)
	}
	keep := map[string][][]string{} // top-level object → paths within it
	for _, f := range fields {
		top, rest, _ := strings.Cut(f, ".")
		var path []string
		if rest != "" {
			path = strings.Split(rest, ".")
		}
		keep[top] = append(keep[top], path)
	}
	for _, rec := range records {
		for _, top := range []string{"contact", "company"} {
			raw, ok := rec[top]
			if !ok || string(raw) == "null" {
				continue
			}
			var obj map[string]any
			if err := json.Unmarshal(raw, &obj); err != nil {
				continue // not an object: the contract check will say so
			}
			pruned := map[string]any{"id": obj["id"]}
			if obj["id"] == nil {
				delete(pruned, "id")
			}
			for _, path := range keep[top] {
				if len(path) == 0 {
					pruned = obj
					break
				}
				copyPath(pruned, obj, path)
			}
			b, err := json.Marshal(pruned)
			if err != nil {
				return nil, fmt.Errorf("project the batch: %w", err)
			}
			rec[top] = b
		}
	}
	return json.Marshal(records)
}

func copyPath(dst, src map[string]any, path []string) {
	v, ok := src[path[0]]
	if !ok {
		return
	}
	if len(path) == 1 {
		dst[path[0]] = v
		return
	}
	inner, ok := v.(map[string]any)
	if !ok {
		return
	}
	sub, _ := dst[path[0]].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
		dst[path[0]] = sub
	}
	copyPath(sub, inner, path[1:])
}
