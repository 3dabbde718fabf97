package dynamo_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"gopkg.in/yaml.v3"

	"github.com/fedele-crm/fedele/infra/dynamo"
)

// TestTemplateTableMatchesDefinition keeps the table in template.yaml (the
// SAM template) identical in keys and indexes to the one the code creates,
// so that production and tests agree. A missing template fails: skipping
// would let the check vanish with the file it checks.
func TestTemplateTableMatchesDefinition(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatalf("reading the SAM template at the repository root: %v", err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				KeySchema []struct {
					AttributeName string `yaml:"AttributeName"`
					KeyType       string `yaml:"KeyType"`
				} `yaml:"KeySchema"`
				GlobalSecondaryIndexes []struct {
					IndexName string `yaml:"IndexName"`
					KeySchema []struct {
						AttributeName string `yaml:"AttributeName"`
						KeyType       string `yaml:"KeyType"`
					} `yaml:"KeySchema"`
				} `yaml:"GlobalSecondaryIndexes"`
				TimeToLiveSpecification struct {
					AttributeName string `yaml:"AttributeName"`
				} `yaml:"TimeToLiveSpecification"`
				StreamSpecification struct {
					StreamViewType string `yaml:"StreamViewType"`
				} `yaml:"StreamSpecification"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		t.Fatalf("parse template.yaml: %v", err)
	}
	want := dynamo.TableDefinition("x")
	found := false
	for name, r := range tmpl.Resources {
		if r.Type != "AWS::DynamoDB::Table" {
			continue
		}
		found = true
		var keys, wantKeys []string
		for _, k := range r.Properties.KeySchema {
			keys = append(keys, k.AttributeName+" "+k.KeyType)
		}
		for _, k := range want.KeySchema {
			wantKeys = append(wantKeys, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		if !slices.Equal(keys, wantKeys) {
			t.Errorf("%s key schema %v, want %v", name, keys, wantKeys)
		}
		var gsis, wantGSIs []string
		for _, g := range r.Properties.GlobalSecondaryIndexes {
			for _, k := range g.KeySchema {
				gsis = append(gsis, g.IndexName+" "+k.AttributeName+" "+k.KeyType)
			}
		}
		for _, g := range want.GlobalSecondaryIndexes {
			for _, k := range g.KeySchema {
				wantGSIs = append(wantGSIs, aws.ToString(g.IndexName)+" "+aws.ToString(k.AttributeName)+" "+string(k.KeyType))
			}
		}
		if !slices.Equal(gsis, wantGSIs) {
			t.Errorf("%s indexes %v, want %v", name, gsis, wantGSIs)
		}
		if r.Properties.TimeToLiveSpecification.AttributeName != "ttl" || r.Properties.StreamSpecification.StreamViewType != "NEW_IMAGE" {
			t.Errorf("%s: TTL attribute %q and stream %q, want ttl and NEW_IMAGE", name,
				r.Properties.TimeToLiveSpecification.AttributeName, r.Properties.StreamSpecification.StreamViewType)
		}
	}
	if !found {
		t.Error("template.yaml has no AWS::DynamoDB::Table")
	}
}
