package main

// header_manipulator_client_interceptor.py: a generic client interceptor
// that adds one header to the metadata of every outgoing RPC.

import (
	"iter"
	"slices"

	"github.com/grpcpy/grpcpy/grpc"
)

// headerAdderInterceptor adds (header, value) after the call's own
// metadata. Python builds a new _ClientCallDetails namedtuple (method,
// timeout, metadata, credentials); Go copies the struct, so the details
// Python's namedtuple drops (wait_for_ready) are kept.
func headerAdderInterceptor(header, value string) genericClientInterceptor {
	interceptCall := func(
		clientCallDetails *grpc.ClientCallDetails,
		requestIterator iter.Seq2[any, error],
		requestStreaming, responseStreaming bool,
	) (*grpc.ClientCallDetails, iter.Seq2[any, error], *postprocess) {
		var metadata grpc.Metadata
		if clientCallDetails.Metadata != nil {
			metadata = slices.Clone(clientCallDetails.Metadata)
		}
		metadata = append(metadata, grpc.Metadatum{Key: header, Value: value})
		newDetails := *clientCallDetails
		newDetails.Metadata = metadata
		return &newDetails, requestIterator, nil
	}
	return create(interceptCall)
}
