package grpc

import (
	"fmt"
	"iter"
	"reflect"
)

// AnySeq turns a typed sequence of values into the untyped form handlers
// and multi-callables use (generated code's glue).
func AnySeq[T any](seq iter.Seq2[T, error]) iter.Seq2[any, error] {
	if seq == nil {
		return nil
	}
	return func(yield func(any, error) bool) {
		for v, err := range seq {
			if !yield(v, err) {
				return
			}
		}
	}
}

// TypedSeq turns an untyped sequence into one of T; a value that is not a
// T ends the sequence with a *ValueError.
func TypedSeq[T any](seq iter.Seq2[any, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range seq {
			var zero T
			if err != nil {
				yield(zero, err)
				return
			}
			t, ok := v.(T)
			if !ok {
				yield(zero, &TypeError{Msg: fmt.Sprintf("a message in the stream is a %T, want %v (check the deserializer)", v, reflect.TypeFor[T]())})
				return
			}
			if !yield(t, nil) {
				return
			}
		}
	}
}
