package dynamo

import (
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

type op int

const (
	opGet op = iota
	opWrite
	opTransact
	opQuery
	opBatchGet // one BatchGetItem round: a GetMany may take several
	opCount
)

var opNames = [opCount]string{"get", "write", "transact", "query", "batchget"}

// Usage is what the engine has asked of DynamoDB since it was made: requests
// per kind, and the capacity units DynamoDB reported consuming.
type Usage struct {
	Requests   map[string]int
	ReadUnits  float64
	WriteUnits float64
}

// TotalRequests is the number of requests of every kind.
func (u Usage) TotalRequests() int {
	n := 0
	for _, c := range u.Requests {
		n += c
	}
	return n
}

// Sub is the usage between an earlier snapshot and u.
func (u Usage) Sub(earlier Usage) Usage {
	d := Usage{Requests: map[string]int{}, ReadUnits: u.ReadUnits - earlier.ReadUnits, WriteUnits: u.WriteUnits - earlier.WriteUnits}
	for k, v := range u.Requests {
		if v -= earlier.Requests[k]; v != 0 {
			d.Requests[k] = v
		}
	}
	return d
}

type usage struct {
	mu       sync.Mutex
	requests [opCount]int
	read     float64
	write    float64
}

func (u *usage) add(o op, ccs ...*types.ConsumedCapacity) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests[o]++
	for _, cc := range ccs {
		if cc == nil {
			continue
		}
		if cc.ReadCapacityUnits != nil || cc.WriteCapacityUnits != nil {
			if cc.ReadCapacityUnits != nil {
				u.read += *cc.ReadCapacityUnits
			}
			if cc.WriteCapacityUnits != nil {
				u.write += *cc.WriteCapacityUnits
			}
			continue
		}
		// Only a total is reported: a read or a write by the kind of call.
		if cc.CapacityUnits != nil {
			if o == opGet || o == opQuery || o == opBatchGet {
				u.read += *cc.CapacityUnits
			} else {
				u.write += *cc.CapacityUnits
			}
		}
	}
}

// Usage returns a snapshot of the engine's usage so far.
func (s *Store) Usage() Usage {
	s.usage.mu.Lock()
	defer s.usage.mu.Unlock()
	out := Usage{Requests: map[string]int{}, ReadUnits: s.usage.read, WriteUnits: s.usage.write}
	for i, n := range s.usage.requests {
		if n > 0 {
			out.Requests[opNames[i]] = n
		}
	}
	return out
}
