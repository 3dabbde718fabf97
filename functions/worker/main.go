// Command worker is the Lambda function behind the EventBridge rules: each
// event goes to the registered consumers, idempotently — the daily stats,
// routing of new leads, and scoring (by the tenant's active score plugin, modules from S3, when
// PLUGIN_BUCKET is set; by the built-in scorer otherwise).
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/core/contacts"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/core/plugins"
	"github.com/fedele-crm/fedele/core/routing"
	"github.com/fedele-crm/fedele/core/scoring"
	"github.com/fedele-crm/fedele/core/team"
	"github.com/fedele-crm/fedele/core/tenancy"
	"github.com/fedele-crm/fedele/core/timeline"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/s3blob"
	"github.com/fedele-crm/fedele/infra/wasm"
	"github.com/fedele-crm/fedele/infra/worker"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	endpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	bucket := env.Optional("PLUGIN_BUCKET", "")
	s3Endpoint := env.Optional("S3_ENDPOINT", "")
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	ctx := context.Background()
	client, err := dynamo.Connect(ctx, endpoint)
	if err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	st := dynamo.New(client, table)
	var runner *plugins.Runner
	if bucket != "" {
		s3c, err := s3blob.Connect(ctx, s3Endpoint)
		if err != nil {
			lambdaenv.Fatal(log, "worker", err)
		}
		rt, err := wasm.NewRuntime(st, s3blob.New(s3c, bucket, "modules"), wasm.Config{CacheDir: "/tmp/fedele-wasm"}, log)
		if err != nil {
			lambdaenv.Fatal(log, "worker", err)
		}
		runner = rt.Runner
	}
	now := func() time.Time { return time.Now().UTC() }
	tenants := tenancy.NewTenants(st, now)
	scorer := scoring.NewScorer(st, contacts.NewContacts(st, tenants, now), contacts.NewCompanies(st, tenants, now), timeline.NewActivities(st, now), runner, now)
	consumers := events.NewConsumers(st, log, time.Now)
	consumers.Register(timeline.StatsConsumer(st))
	consumers.Register(scorer.Consumer())
	consumers.Register(scorer.RescoreConsumer())
	consumers.Register(routing.NewRouter(st, contacts.NewContacts(st, tenants, now), team.NewUsers(st, now), runner, now).Consumer())
	lambda.Start(worker.Handler(consumers))
}
