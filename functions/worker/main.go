// Command worker is the Lambda function behind the EventBridge rules: each
// event goes to the registered consumers, idempotently.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/core/crm"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/worker"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	endpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	client, err := dynamo.Connect(context.Background(), endpoint)
	if err != nil {
		lambdaenv.Fatal(log, "worker", err)
	}
	st := dynamo.New(client, table)
	consumers := events.NewConsumers(st, log, time.Now)
	consumers.Register(crm.StatsConsumer(st))
	lambda.Start(worker.Handler(consumers))
}
