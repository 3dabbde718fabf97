// Command api is the HTTP API Lambda function (API Gateway HTTP API,
// payload v2): the same handler as `fedele serve`, on DynamoDB.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/fedele-crm/fedele/infra/dynamo"
	"github.com/fedele-crm/fedele/infra/httpapi"
	"github.com/fedele-crm/fedele/infra/lambdaapi"
	"github.com/fedele-crm/fedele/infra/lambdaenv"
)

func main() {
	log := slog.New(httpapi.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
	var env lambdaenv.Env
	table := env.Required("TABLE_NAME")
	endpoint := env.Optional("DYNAMODB_ENDPOINT", "")
	claims := lambdaapi.Claims{Tenant: env.Optional("JWT_TENANT_CLAIM", "custom:tenant"), Scopes: env.Optional("JWT_SCOPES_CLAIM", "scope")}
	if err := env.Err(); err != nil {
		lambdaenv.Fatal(log, "api", err)
	}
	client, err := dynamo.Connect(context.Background(), endpoint)
	if err != nil {
		lambdaenv.Fatal(log, "api", err)
	}
	api := httpapi.New(httpapi.Config{Store: dynamo.New(client, table), Logger: log})
	lambda.Start(lambdaapi.Handler(api, claims))
}
