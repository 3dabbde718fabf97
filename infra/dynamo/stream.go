package dynamo

import (
	"fmt"
	"strconv"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/fedele-crm/fedele/core/store"
)

// ItemFromImage reads a stream record's image (the table's item as the
// stream carries it) back into a store item.
func ItemFromImage(img map[string]lambdaevents.DynamoDBAttributeValue) (store.Item, error) {
	str := func(name string) string {
		if av, ok := img[name]; ok && av.DataType() == lambdaevents.DataTypeString {
			return av.String()
		}
		return ""
	}
	num := func(name string) (int64, error) {
		av, ok := img[name]
		if !ok || av.DataType() != lambdaevents.DataTypeNumber {
			return 0, nil
		}
		return strconv.ParseInt(av.Number(), 10, 64)
	}
	it := store.Item{Key: store.Key{PK: str(attrPK), SK: str(attrSK)}}
	if it.PK == "" || it.SK == "" {
		return it, fmt.Errorf("stream image without %s and %s", attrPK, attrSK)
	}
	var err error
	if it.Version, err = num(attrVersion); err != nil {
		return it, fmt.Errorf("item %s: bad version: %w", it.Key, err)
	}
	ttl, err := num(attrTTL)
	if err != nil {
		return it, fmt.Errorf("item %s: bad ttl: %w", it.Key, err)
	}
	if ttl != 0 {
		it.ExpiresAt = time.Unix(ttl, 0).UTC()
	}
	if av, ok := img[attrDoc]; ok && av.DataType() == lambdaevents.DataTypeBinary {
		it.Data = av.Binary()
	}
	for _, ix := range store.Indexes {
		if pk := str(indexPK(ix)); pk != "" {
			if it.IndexKeys == nil {
				it.IndexKeys = map[store.Index]store.Key{}
			}
			it.IndexKeys[ix] = store.Key{PK: pk, SK: str(indexSK(ix))}
		}
	}
	return it, nil
}
