// Package status mirrors grpcio-status's grpc_status.rpc_status: rich error
// status, a google.rpc.Status (a code, a message and error details packed
// as google.protobuf.Any) carried in the trailing metadata entry
// "grpc-status-details-bin" next to the RPC's own code and details.
//
// The message types are the canonical generated Go packages, the ones
// grpc-go uses too, so a binary may link both libraries:
// google.golang.org/genproto/googleapis/rpc/status for google.rpc.Status
// and .../rpc/errdetails for the common details (QuotaFailure, BadRequest,
// ErrorInfo, RetryInfo, ...); anypb packs and unpacks them.
//
// # Python and Go
//
//	context.abort_with_status(rpc_status.to_status(rich_status))
//	    st, err := status.ToStatus(richStatus); context.AbortWithStatus(st)
//	rich_status = rpc_status.from_call(rpc_error)
//	    richStatus, err := status.FromCall(rpcError)
//	detail.Unpack(info)
//	    detail.UnmarshalTo(info)
//
// # Errors
//
// grpcio-status raises ValueError; here it is a *grpc.ValueError, with
// grpcio-status's messages:
//   - "Code in Status proto (StatusCode.X) doesn't match status code
//     (StatusCode.Y)" and "Message in Status proto (a) doesn't match status
//     details (b)": grpcio-status's StatusDetailsMetadataValueError.
//   - "Invalid status code N": a google.rpc.Status code outside
//     grpc.StatusCode (ToStatus; FromCall when that code also mismatches).
//   - "Error parsing message with type 'google.rpc.Status'": the entry is
//     not a google.rpc.Status (grpcio-status's
//     StatusDetailsMetadataDecodeError); the error wraps protobuf's, so
//     errors.Is(err, proto.Error) tells it from a mismatch.
//
// # Experimental
//
// As in grpcio-status ("This is an EXPERIMENTAL API").
package status

import (
	"fmt"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcpy/grpcpy/grpc"
)

// GrpcDetailsMetadataKey mirrors grpc_status._common.GRPC_DETAILS_METADATA_KEY:
// the trailing metadata key of the serialized google.rpc.Status. Its value
// is raw bytes in a string, as every "-bin" value in grpc.Metadata (the core
// base64-encodes it on the wire).
const GrpcDetailsMetadataKey = "grpc-status-details-bin"

// FromCall mirrors grpc_status.rpc_status.from_call(call): the
// google.rpc.Status in call's trailing metadata (the first
// "grpc-status-details-bin" entry), or nil, nil when there is none.
//
// call is any grpc.Call: the *grpc.RpcError of a failed RPC (found with
// errors.As, as Python's except grpc.RpcError), the Call of WithCall, a
// CallFuture or a CallIterator (whose TrailingMetadata waits for the RPC's
// end, as Python's does).
//
// A Status whose code or message differs from call.Code() or call.Details()
// is grpcio-status's ValueError, a *grpc.ValueError, and so is an entry that
// does not parse (see the package doc). A nil call is a *grpc.TypeError.
func FromCall(call grpc.Call) (*spb.Status, error) {
	if isNil(call) {
		return nil, &grpc.TypeError{Msg: "from_call needs a grpc.Call, got nil"}
	}
	for _, m := range call.TrailingMetadata() {
		if m.Key != GrpcDetailsMetadataKey {
			continue
		}
		richStatus := &spb.Status{}
		if err := proto.Unmarshal([]byte(m.Value), richStatus); err != nil {
			return nil, &grpc.ValueError{Msg: "Error parsing message with type 'google.rpc.Status'", Err: err}
		}
		if code := call.Code(); int(code) != int(richStatus.GetCode()) {
			statusCode, err := codeToGrpcStatusCode(richStatus.GetCode())
			if err != nil {
				return nil, err
			}
			return nil, &grpc.ValueError{Msg: fmt.Sprintf("Code in Status proto (%s) doesn't match status code (%s)", statusCode, code)}
		}
		if details := call.Details(); details != richStatus.GetMessage() {
			return nil, &grpc.ValueError{Msg: fmt.Sprintf("Message in Status proto (%s) doesn't match status details (%s)", richStatus.GetMessage(), details)}
		}
		return richStatus, nil
	}
	return nil, nil
}

// ToStatus mirrors grpc_status.rpc_status.to_status(status): the grpc.Status
// for ServicerContext.AbortWithStatus, with status's code and message as
// its code and details and status itself, serialized, as its trailing
// metadata ("grpc-status-details-bin").
//
// A code outside grpc.StatusCode is grpcio-status's ValueError "Invalid
// status code N" (a *grpc.ValueError), a nil status a *grpc.TypeError.
func ToStatus(status *spb.Status) (grpc.Status, error) {
	if status == nil {
		return grpc.Status{}, &grpc.TypeError{Msg: "to_status needs a google.rpc.Status, got nil"}
	}
	code, err := codeToGrpcStatusCode(status.GetCode())
	if err != nil {
		return grpc.Status{}, err
	}
	serialized, err := proto.Marshal(status)
	if err != nil { // a message or detail that is not valid UTF-8, say
		return grpc.Status{}, &grpc.ValueError{Msg: "cannot serialize the google.rpc.Status: " + err.Error(), Err: err}
	}
	return grpc.Status{
		Code:             code,
		Details:          status.GetMessage(),
		TrailingMetadata: grpc.Metadata{{Key: GrpcDetailsMetadataKey, Value: string(serialized)}},
	}, nil
}

// codeToGrpcStatusCode mirrors grpc_status._common.code_to_grpc_status_code.
func codeToGrpcStatusCode(code int32) (grpc.StatusCode, error) {
	if code < 0 || int(code) >= len(grpc.StatusCodes) {
		return 0, &grpc.ValueError{Msg: fmt.Sprintf("Invalid status code %d", code)}
	}
	return grpc.StatusCodes[code], nil
}

// isNil reports a nil Call, including a typed nil *grpc.RpcError (an
// errors.As target left unset), whose methods would panic.
func isNil(call grpc.Call) bool {
	if call == nil {
		return true
	}
	e, ok := call.(*grpc.RpcError)
	return ok && e == nil
}
