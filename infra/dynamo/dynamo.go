// Package dynamo is the production storage engine: the store.Store port on
// DynamoDB with aws-sdk-go-v2, one table (TableDefinition) holding every
// tenant's items, proved by the same conformance suite as the embedded
// engine against the real DynamoDB Local.
//
// It must never interpret an item's Data, never scan the table, and never
// let a request reach DynamoDB that DynamoDB would refuse for size: the
// port's shared checks run first.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/fedele-crm/fedele/core/store"
	"github.com/fedele-crm/fedele/infra/awsconfig"
)

// Store is the DynamoDB engine. It is safe for concurrent use.
type Store struct {
	client *dynamodb.Client
	table  string
	usage  usage
}

var _ store.Store = (*Store)(nil)

// New returns the engine on table through client.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{client: client, table: table}
}

// Connect makes a client from the standard AWS configuration chain. With an
// endpoint (DynamoDB Local) and no credentials in the environment it uses
// dummy ones, which DynamoDB Local accepts.
func Connect(ctx context.Context, endpoint string) (*dynamodb.Client, error) {
	cfg, err := awsconfig.Load(ctx, endpoint, config.WithRetryer(func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.MaxBackoff = 500 * time.Millisecond
		})
	}))
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	}), nil
}

// Close does nothing: the client holds no resources worth releasing.
func (s *Store) Close() error { return nil }

// Get reads one item with a strongly consistent read.
func (s *Store) Get(ctx context.Context, key store.Key) (store.Item, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Item{}, err
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:              &s.table,
		Key:                    keyAV(key),
		ConsistentRead:         aws.Bool(true),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	})
	if out != nil {
		s.usage.add(opGet, out.ConsumedCapacity)
	} else {
		s.usage.add(opGet, nil)
	}
	if err != nil {
		return store.Item{}, fmt.Errorf("get %s: %w", key, classify(err))
	}
	if out.Item == nil {
		return store.Item{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	return fromAV(out.Item)
}

// maxStalledRounds bounds the BatchGetItem rounds that read nothing new:
// DynamoDB left every remaining key unprocessed, which is throttling.
const maxStalledRounds = 8

// GetMany reads keys with BatchGetItem, strongly consistent. DynamoDB may
// leave keys unprocessed — past 16 MB of response, or when throttled — and
// the remaining keys are asked again: after a short pause when the round
// read some of them, after a growing backoff when it read none, giving up
// with ErrThrottled after maxStalledRounds rounds in a row of those.
func (s *Store) GetMany(ctx context.Context, keys []store.Key) ([]store.Item, error) {
	if err := store.CheckKeys(keys); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	pending := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		pending[i] = keyAV(k)
	}
	found := make(map[store.Key]store.Item, len(keys))
	for stalled := 0; len(pending) > 0; {
		out, err := s.client.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{
			RequestItems:           map[string]types.KeysAndAttributes{s.table: {Keys: pending, ConsistentRead: aws.Bool(true)}},
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		var ccs []*types.ConsumedCapacity
		if out != nil {
			for i := range out.ConsumedCapacity {
				ccs = append(ccs, &out.ConsumedCapacity[i])
			}
		}
		s.usage.add(opBatchGet, ccs...)
		if err != nil {
			return nil, fmt.Errorf("get %d keys: %w", len(keys), classify(err))
		}
		for _, av := range out.Responses[s.table] {
			it, err := fromAV(av)
			if err != nil {
				return nil, err
			}
			found[it.Key] = it
		}
		left := out.UnprocessedKeys[s.table].Keys
		if len(left) == 0 {
			break
		}
		if len(left) < len(pending) {
			stalled = 0 // progress: the response was full, not refused
		} else if stalled++; stalled > maxStalledRounds {
			return nil, fmt.Errorf("get %d keys: %d still unprocessed after %d rounds: %w", len(keys), len(left), stalled, store.ErrThrottled)
		}
		if err := backoff(ctx, stalled); err != nil {
			return nil, fmt.Errorf("get %d keys: %w", len(keys), err)
		}
		pending = left
	}
	items := make([]store.Item, 0, len(found))
	for _, k := range keys {
		if it, ok := found[k]; ok {
			items = append(items, it)
		}
	}
	return items, nil
}

// Put writes one item when cond holds.
func (s *Store) Put(ctx context.Context, item store.Item, cond store.Cond) error {
	if err := store.CheckItem(item); err != nil {
		return err
	}
	expr, names, values := condition(cond)
	out, err := s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 &s.table,
		Item:                      toAV(item),
		ConditionExpression:       expr,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if out != nil {
		s.usage.add(opWrite, out.ConsumedCapacity)
	} else {
		s.usage.add(opWrite, nil)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", item.Key, classify(err))
	}
	return nil
}

// Delete removes one item when cond holds.
func (s *Store) Delete(ctx context.Context, key store.Key, cond store.Cond) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	expr, names, values := condition(cond)
	out, err := s.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &s.table,
		Key:                       keyAV(key),
		ConditionExpression:       expr,
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnConsumedCapacity:    types.ReturnConsumedCapacityTotal,
	})
	if out != nil {
		s.usage.add(opWrite, out.ConsumedCapacity)
	} else {
		s.usage.add(opWrite, nil)
	}
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, classify(err))
	}
	return nil
}

// maxConflictRetries bounds retries of a transaction that DynamoDB
// cancelled only because another transaction held one of its items: that
// is contention, not an answer, so the caller should not see it.
const maxConflictRetries = 8

// Transact writes all or nothing with TransactWriteItems.
func (s *Store) Transact(ctx context.Context, writes []store.Write) error {
	if err := store.CheckWrites(writes); err != nil {
		return err
	}
	items := make([]types.TransactWriteItem, len(writes))
	for i, w := range writes {
		expr, names, values := condition(w.Cond)
		switch w.Op {
		case store.OpPut:
			items[i].Put = &types.Put{TableName: &s.table, Item: toAV(w.Item), ConditionExpression: expr,
				ExpressionAttributeNames: names, ExpressionAttributeValues: values}
		case store.OpDelete:
			items[i].Delete = &types.Delete{TableName: &s.table, Key: keyAV(w.Key), ConditionExpression: expr,
				ExpressionAttributeNames: names, ExpressionAttributeValues: values}
		case store.OpCheck:
			if expr == nil { // DynamoDB needs a condition on a check; this one always holds
				expr, names = aws.String("attribute_exists(#pk) OR attribute_not_exists(#pk)"), map[string]string{"#pk": attrPK}
			}
			items[i].ConditionCheck = &types.ConditionCheck{TableName: &s.table, Key: keyAV(w.Key), ConditionExpression: expr,
				ExpressionAttributeNames: names, ExpressionAttributeValues: values}
		}
	}
	for attempt := 0; ; attempt++ {
		out, err := s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems:          items,
			ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
		})
		var ccs []*types.ConsumedCapacity
		if out != nil {
			for i := range out.ConsumedCapacity {
				ccs = append(ccs, &out.ConsumedCapacity[i])
			}
		}
		s.usage.add(opTransact, ccs...)
		if err == nil {
			return nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return fmt.Errorf("transact %d writes: %w", len(writes), classify(err))
		}
		conflict := false
		for i, r := range cancelled.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "ConditionalCheckFailed":
				return &store.TxCancelledError{Index: i, Key: writes[i].Target(), Reason: store.ErrConditionFailed}
			case "TransactionConflict":
				conflict = true
			case "ProvisionedThroughputExceeded", "ThrottlingError", "RequestLimitExceeded":
				return &store.TxCancelledError{Index: i, Key: writes[i].Target(), Reason: store.ErrThrottled}
			case "ItemCollectionSizeLimitExceeded":
				return &store.TxCancelledError{Index: i, Key: writes[i].Target(), Reason: store.ErrItemTooLarge}
			case "", "None":
			default:
				return &store.TxCancelledError{Index: i, Key: writes[i].Target(),
					Reason: fmt.Errorf("%s: %s", aws.ToString(r.Code), aws.ToString(r.Message))}
			}
		}
		if conflict && attempt == maxConflictRetries {
			// Other transactions kept holding these items: busy, retry.
			return fmt.Errorf("transact %d writes: %w: %v", len(writes), store.ErrUnavailable, err)
		}
		if !conflict {
			return fmt.Errorf("transact %d writes: %w", len(writes), classify(err))
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1<<min(attempt, 6)) * 5 * time.Millisecond
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Query reads one page of a partition with the Query API.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	limit, err := store.CheckQuery(q)
	if err != nil {
		return store.Page{}, err
	}
	pkName, skName := attrPK, attrSK
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		ScanIndexForward:       aws.Bool(!q.Desc),
		Limit:                  aws.Int32(int32(limit)),
		ReturnConsumedCapacity: types.ReturnConsumedCapacityTotal,
	}
	if q.Index != store.Table {
		pkName, skName = indexPK(q.Index), indexSK(q.Index)
		in.IndexName = aws.String(string(q.Index))
	} else if q.Consistent {
		in.ConsistentRead = aws.Bool(true)
	}
	keyCond := "#pk = :pk"
	in.ExpressionAttributeNames = map[string]string{"#pk": pkName}
	in.ExpressionAttributeValues = map[string]types.AttributeValue{":pk": str(q.PK)}
	switch {
	case q.Prefix != "":
		keyCond += " AND begins_with(#sk, :p)"
		in.ExpressionAttributeValues[":p"] = str(q.Prefix)
	case q.From != "" && q.To != "":
		keyCond += " AND #sk BETWEEN :f AND :t"
		in.ExpressionAttributeValues[":f"], in.ExpressionAttributeValues[":t"] = str(q.From), str(q.To)
	case q.From != "":
		keyCond += " AND #sk >= :f"
		in.ExpressionAttributeValues[":f"] = str(q.From)
	case q.To != "":
		keyCond += " AND #sk <= :t"
		in.ExpressionAttributeValues[":t"] = str(q.To)
	}
	if len(in.ExpressionAttributeValues) > 1 {
		in.ExpressionAttributeNames["#sk"] = skName
	}
	in.KeyConditionExpression = &keyCond
	if q.Cursor != "" {
		pos, err := store.DecodeCursor(q)
		if err != nil {
			return store.Page{}, err
		}
		in.ExclusiveStartKey = keyAV(pos.Table)
		if pos.Index != nil {
			in.ExclusiveStartKey[pkName], in.ExclusiveStartKey[skName] = str(pos.Index.PK), str(pos.Index.SK)
		}
	}
	out, err := s.client.Query(ctx, in)
	if out != nil {
		s.usage.add(opQuery, out.ConsumedCapacity)
	} else {
		s.usage.add(opQuery, nil)
	}
	if err != nil {
		return store.Page{}, fmt.Errorf("query %s %q: %w", q.Index, q.PK, classify(err))
	}
	page := store.Page{Items: make([]store.Item, 0, len(out.Items))}
	for _, av := range out.Items {
		it, err := fromAV(av)
		if err != nil {
			return store.Page{}, err
		}
		page.Items = append(page.Items, it)
	}
	if len(out.LastEvaluatedKey) > 0 {
		pos := store.Position{Table: store.Key{PK: sval(out.LastEvaluatedKey[attrPK]), SK: sval(out.LastEvaluatedKey[attrSK])}}
		if q.Index != store.Table {
			pos.Index = &store.Key{PK: sval(out.LastEvaluatedKey[pkName]), SK: sval(out.LastEvaluatedKey[skName])}
		}
		page.Next = store.EncodeCursor(q, pos)
	}
	return page, nil
}

// condition renders a store.Cond as a condition expression.
func condition(c store.Cond) (*string, map[string]string, map[string]types.AttributeValue) {
	switch {
	case c.Version > 0:
		return aws.String("#v = :v"), map[string]string{"#v": attrVersion},
			map[string]types.AttributeValue{":v": &types.AttributeValueMemberN{Value: strconv.FormatInt(c.Version, 10)}}
	case c.MustNotExist:
		return aws.String("attribute_not_exists(#pk)"), map[string]string{"#pk": attrPK}, nil
	case c.MustExist:
		return aws.String("attribute_exists(#pk)"), map[string]string{"#pk": attrPK}, nil
	}
	return nil, nil, nil
}

// classify maps what DynamoDB and the network answer to the port's errors.
func classify(err error) error {
	var (
		ccf      *types.ConditionalCheckFailedException
		pte      *types.ProvisionedThroughputExceededException
		rle      *types.RequestLimitExceeded
		sendErr  *smithyhttp.RequestSendError
		netErr   net.Error
		notFound *types.ResourceNotFoundException
		internal *types.InternalServerError
		api      smithy.APIError
	)
	switch {
	case errors.As(err, &ccf):
		return fmt.Errorf("%w: %v", store.ErrConditionFailed, err)
	case errors.As(err, &pte), errors.As(err, &rle), isCode(err, "ThrottlingException"):
		return fmt.Errorf("%w: %v", store.ErrThrottled, err)
	case errors.As(err, &sendErr), errors.As(err, &netErr), errors.As(err, &notFound), errors.As(err, &internal):
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	case !errors.As(err, &api) && !errors.Is(err, context.Canceled):
		// No answer from DynamoDB at all (a response cut short, a checksum
		// that does not match, retries exhausted on a timeout): the store
		// is away for now, not the request at fault.
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return err
}

func isCode(err error, code string) bool {
	var api interface{ ErrorCode() string }
	return errors.As(err, &api) && api.ErrorCode() == code
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func sval(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func keyAV(k store.Key) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(k.PK), attrSK: str(k.SK)}
}

func toAV(it store.Item) map[string]types.AttributeValue {
	m := keyAV(it.Key)
	m[attrVersion] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.Version, 10)}
	if len(it.Data) > 0 {
		m[attrDoc] = &types.AttributeValueMemberB{Value: it.Data}
	}
	if !it.ExpiresAt.IsZero() {
		m[attrTTL] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.ExpiresAt.Unix(), 10)}
	}
	for ix, k := range it.IndexKeys {
		m[indexPK(ix)], m[indexSK(ix)] = str(k.PK), str(k.SK)
	}
	return m
}

func fromAV(m map[string]types.AttributeValue) (store.Item, error) {
	it := store.Item{Key: store.Key{PK: sval(m[attrPK]), SK: sval(m[attrSK])}}
	bad := func(what string, err error) (store.Item, error) {
		return store.Item{}, fmt.Errorf("item %s: bad %s: %v", it.Key, what, err)
	}
	if n, ok := m[attrVersion].(*types.AttributeValueMemberN); ok {
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return bad("version", err)
		}
		it.Version = v
	}
	if n, ok := m[attrTTL].(*types.AttributeValueMemberN); ok {
		sec, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return bad("ttl", err)
		}
		it.ExpiresAt = time.Unix(sec, 0).UTC()
	}
	if b, ok := m[attrDoc].(*types.AttributeValueMemberB); ok {
		it.Data = b.Value
	}
	for _, ix := range store.Indexes {
		pk, sk := sval(m[indexPK(ix)]), sval(m[indexSK(ix)])
		if pk != "" {
			if it.IndexKeys == nil {
				it.IndexKeys = map[store.Index]store.Key{}
			}
			it.IndexKeys[ix] = store.Key{PK: pk, SK: sk}
		}
	}
	return it, nil
}
