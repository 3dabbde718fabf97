// Command relay is the outbox relay Lambda function: the table's stream,
// filtered to outbox items, published to the EventBridge bus.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/app"
	"github.com/fedele-crm/fedele/core/events"
	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/eventbridge"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
	"github.com/fedele-crm/fedele/infra/relay"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	bus := env.Required("EVENT_BUS_NAME")
	dynamoEndpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	busEndpoint := env.Optional("EVENTBRIDGE_ENDPOINT", "")
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "relay", err)
	}
	ctx := context.Background()
	ebClient, err := eventbridge.Connect(ctx, busEndpoint)
	if err != nil {
		lambdaenv.Fatal(log, "relay", err)
	}
	dbClient, err := dynamo.Connect(ctx, dynamoEndpoint)
	if err != nil {
		lambdaenv.Fatal(log, "relay", err)
	}
	st := dynamo.New(dbClient, table)
	a, err := app.New(app.Ports{Store: st, Publishers: []events.Publisher{eventbridge.New(ebClient, bus)}, Log: log})
	if err != nil {
		lambdaenv.Fatal(log, "relay", err)
	}
	h := &relay.StreamHandler{Publisher: a.Publisher(), Log: log, Store: st}
	lambda.Start(h.Handle)
}
