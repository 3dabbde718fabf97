// Command scheduler is the Lambda function on a schedule for time-based
// work, every minute: it hands each due timer to the worker through a
// timer.due event (core/timers: the due minutes read in parallel shards,
// each timer leased so that it is not handed out twice while the worker
// has it), then runs the outbox reconciler, which publishes events the
// stream relay has not delivered within 15 minutes.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/eventbridge"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/worker"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	// The base of one-click unsubscribe links in the messages this
	// function requests (template.yaml: the PublicUrl parameter, else the
	// HTTP API's own URL); never a default, which would mail localhost.
	publicURL := env.Required("PUBLIC_URL")
	bus := env.Required("EVENT_BUS_NAME")
	dynamoEndpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	busEndpoint := env.Optional("EVENTBRIDGE_ENDPOINT", "")
	maxAge, err := time.ParseDuration(env.Optional("REDRIVE_AFTER", "15m"))
	if err != nil {
		env.Fail("REDRIVE_AFTER: %v", err)
	}
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "scheduler", err)
	}
	ctx := context.Background()
	dbClient, err := dynamo.Connect(ctx, dynamoEndpoint)
	if err != nil {
		lambdaenv.Fatal(log, "scheduler", err)
	}
	ebClient, err := eventbridge.Connect(ctx, busEndpoint)
	if err != nil {
		lambdaenv.Fatal(log, "scheduler", err)
	}
	pub := eventbridge.New(ebClient, bus)
	a, err := app.New(app.Ports{PublicURL: publicURL, Store: dynamo.New(dbClient, table), Publishers: []events.Publisher{pub}, Log: log})
	if err != nil {
		lambdaenv.Fatal(log, "scheduler", err)
	}
	lambda.Start(worker.SchedulerTick(a.Timers, pub, a.Reconciler(maxAge), log))
}
