package functions_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/fedele-crm/fedele/schemas"
)

// plain turns a YAML node into plain values, writing CloudFormation's short
// tags (!Ref x) in their long form ({"Ref": x}).
func plain(n *yaml.Node) any {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return plain(n.Content[0])
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		v = m
	case yaml.SequenceNode:
		var l []any
		for _, c := range n.Content {
			l = append(l, plain(c))
		}
		v = l
	default:
		v = n.Value
	}
	if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") { // "!!str" and the like are YAML's own
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		return map[string]any{name: v}
	}
	return v
}

func loadTemplate(t *testing.T) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("../template.yaml")
	if err != nil {
		t.Fatalf("reading the SAM template at the repository root: %v", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return plain(&doc).(map[string]any)
}

func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func functionsOf(tmpl map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, r := range get(tmpl, "Resources").(map[string]any) {
		if get(r, "Type") == "AWS::Serverless::Function" {
			out[name] = r.(map[string]any)
		}
	}
	return out
}

var makeTarget = regexp.MustCompile(`(?m)^build-(\w+):\n\t\$\(GO_BUILD\) -o \$\(ARTIFACTS_DIR\)/bootstrap \./functions/(\w+)$`)

// sourceOf maps each function's logical id to its folder, from the Makefile.
func sourceOf(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range makeTarget.FindAllStringSubmatch(string(raw), -1) {
		out[m[1]] = m[2]
	}
	return out
}

func TestTemplateFunctionsBuildForArm64(t *testing.T) {
	tmpl := loadTemplate(t)
	src := sourceOf(t)
	for name, fn := range functionsOf(tmpl) {
		if get(fn, "Metadata", "BuildMethod") != "makefile" || get(fn, "Properties", "CodeUri") != "." {
			t.Errorf("%s: not built by the Makefile from the repository root", name)
		}
		dir, ok := src[name]
		if !ok {
			t.Errorf("%s: no build-%s target in the Makefile", name, name)
			continue
		}
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", os.DevNull, "./"+dir)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s (functions/%s) does not build for linux/arm64: %v\n%s", name, dir, err, out)
		}
	}
	if got := get(tmpl, "Globals", "Function", "Runtime"); got != "provided.al2023" {
		t.Errorf("runtime %v", got)
	}
	if got := fmt.Sprint(get(tmpl, "Globals", "Function", "Architectures")); got != "[arm64]" {
		t.Errorf("architectures %v", got)
	}
}

var envRead = regexp.MustCompile(`env\.(?:Required|Optional)\("([A-Z0-9_]+)"`)

func TestTemplateEnvironmentMatchesCode(t *testing.T) {
	src := sourceOf(t)
	for name, fn := range functionsOf(loadTemplate(t)) {
		var inTemplate []string
		if vars, ok := get(fn, "Properties", "Environment", "Variables").(map[string]any); ok {
			for k := range vars {
				inTemplate = append(inTemplate, k)
			}
		}
		code, err := os.ReadFile(filepath.Join(src[name], "main.go"))
		if err != nil {
			t.Fatal(err)
		}
		var inCode []string
		for _, m := range envRead.FindAllStringSubmatch(string(code), -1) {
			inCode = append(inCode, m[1])
		}
		slices.Sort(inTemplate)
		slices.Sort(inCode)
		if diff := cmp.Diff(inCode, inTemplate); diff != "" {
			t.Errorf("%s: variables read by functions/%s (-) and set in the template (+):\n%s", name, src[name], diff)
		}
	}
}

func TestTemplateRulesNameKnownEvents(t *testing.T) {
	known, err := schemas.EventTypes()
	if err != nil {
		t.Fatal(err)
	}
	rules := 0
	for name, fn := range functionsOf(loadTemplate(t)) {
		evs, _ := get(fn, "Properties", "Events").(map[string]any)
		for en, ev := range evs {
			if get(ev, "Type") != "EventBridgeRule" {
				continue
			}
			rules++
			for _, dt := range get(ev, "Properties", "Pattern", "detail-type").([]any) {
				if !slices.Contains(known, dt.(string)) {
					t.Errorf("%s.%s routes %q, which has no schema in schemas/events", name, en, dt)
				}
			}
		}
	}
	if rules == 0 {
		t.Error("no EventBridge rule in the template")
	}
}

// needs is what each function does with AWS, from its code: nothing more
// may be granted (least privilege), nothing less (it would fail).
var needs = map[string][]string{
	"ApiFunction": {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
		"s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"},
	"RelayFunction": {"dynamodb:PutItem", "events:PutEvents", "sqs:SendMessage"},
	"WorkerFunction": {"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query",
		"s3:GetObject", "s3:ListBucket"},
	"SchedulerFunction": {"dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:Query", "events:PutEvents"},
}

func TestTemplatePoliciesAreLeastPrivilege(t *testing.T) {
	fns := functionsOf(loadTemplate(t))
	if len(fns) != len(needs) {
		t.Errorf("%d functions in the template, %d known here", len(fns), len(needs))
	}
	for name, fn := range fns {
		var actions []string
		for _, pol := range get(fn, "Properties", "Policies").([]any) {
			stmts, ok := get(pol, "Statement").([]any)
			if !ok {
				t.Errorf("%s: a policy that is not an inline statement list: %v", name, pol)
				continue
			}
			for _, s := range stmts {
				for _, a := range get(s, "Action").([]any) {
					if strings.Contains(a.(string), "*") {
						t.Errorf("%s: wildcard action %s", name, a)
					}
					actions = append(actions, a.(string))
				}
				for _, r := range get(s, "Resource").([]any) {
					if r == "*" {
						t.Errorf("%s: a statement on every resource", name)
					}
				}
			}
		}
		slices.Sort(actions)
		if diff := cmp.Diff(needs[name], slices.Compact(actions)); diff != "" {
			t.Errorf("%s: actions needed (-) and granted (+):\n%s", name, diff)
		}
	}
}
