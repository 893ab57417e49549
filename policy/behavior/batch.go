package behavior

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// OpKind names one Store operation in a batch.
type OpKind uint8

// Batchable operations, one per Store method.
const (
	OpAdd OpKind = iota + 1
	OpOrBits
	OpSetAdd
	OpSetHasAny
	OpGet
	OpPut
)

// Op is one Store operation with its arguments and, after Do, its result.
// Only the fields of its Kind are used.
type Op struct {
	Kind OpKind
	Key  string
	TTL  time.Duration
	// OpAdd: Deltas in, new values written into Out (same length).
	Deltas, Out []int64
	// OpOrBits: bits to set in, the resulting set out.
	Bits uint64
	// OpSetAdd: Member and Max in; OpSetHasAny: Members in. Bool out
	// (added, or any member present).
	Member  string
	Members []string
	Max     int
	Bool    bool
	// OpPut: Val in; OpGet: Val out (nil when absent).
	Val []byte
	// Err is the operation's own error.
	Err error
}

// Batcher is a Store that runs several independent operations in one round
// trip (a Redis pipeline). Each operation is still atomic on its own; the
// batch is not a transaction, and operations in one batch must not depend
// on each other's results. Do sets every op's Err.
type Batcher interface {
	Do(ctx context.Context, ops []Op)
}

// Do runs ops against s: in one round trip when s is a Batcher, else one
// after another. It returns the first op error (each op keeps its own).
func Do(ctx context.Context, s Store, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if b, ok := s.(Batcher); ok {
		b.Do(ctx, ops)
	} else {
		for i := range ops {
			ops[i].Err = runOp(ctx, s, &ops[i])
		}
	}
	for i := range ops {
		if ops[i].Err != nil {
			return ops[i].Err
		}
	}
	return nil
}

// ErrBadOp is returned for an op with an unknown Kind or mismatched vectors.
var ErrBadOp = errors.New("behavior: bad store operation")

func runOp(ctx context.Context, s Store, op *Op) error {
	var err error
	switch op.Kind {
	case OpAdd:
		if len(op.Out) != len(op.Deltas) {
			return fmt.Errorf("%w: add %q: %d deltas, %d outputs", ErrBadOp, op.Key, len(op.Deltas), len(op.Out))
		}
		err = s.Add(ctx, op.Key, op.Deltas, op.Out, op.TTL)
	case OpOrBits:
		op.Bits, err = s.OrBits(ctx, op.Key, op.Bits, op.TTL)
	case OpSetAdd:
		op.Bool, err = s.SetAdd(ctx, op.Key, op.Member, op.Max, op.TTL)
	case OpSetHasAny:
		op.Bool, err = s.SetHasAny(ctx, op.Key, op.Members)
	case OpGet:
		op.Val, err = s.Get(ctx, op.Key)
	case OpPut:
		err = s.Put(ctx, op.Key, op.Val, op.TTL)
	default:
		return fmt.Errorf("%w: kind %d", ErrBadOp, op.Kind)
	}
	return err
}

// RunOp runs one op through the plain Store methods (for Batcher
// implementations that fall back per operation).
func RunOp(ctx context.Context, s Store, op *Op) error { return runOp(ctx, s, op) }

// opBuf is a pooled batch, so a call's batches do not allocate.
type opBuf struct{ ops []Op }

var opPool = sync.Pool{New: func() any { return &opBuf{ops: make([]Op, 0, 16)} }}

func getOps() *opBuf { return opPool.Get().(*opBuf) }

// putOps returns b (whose ops may have grown to ops) to the pool, dropping
// every reference the ops held.
func putOps(b *opBuf, ops []Op) {
	clear(ops)
	b.ops = ops[:0]
	opPool.Put(b)
}
