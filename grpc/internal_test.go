package grpc

import "testing"

// The invariant of status.go: an *RpcError never carries OK.
func TestRpcErrorNeverCarriesOK(t *testing.T) {
	e := newRpcError(StatusCodeOK, "x", nil, nil, "")
	if e.Code() == StatusCodeOK {
		t.Fatal("RpcError carries OK")
	}
	var c Call = e // an RpcError is also a Call
	if c.IsActive() || c.Cancel() || c.AddCallback(func() {}) {
		t.Fatal("a terminated RPC's error reports activity")
	}
}
