package grpc

import (
	"fmt"

	"github.com/grpcpy/grpcpy/core"
)

// Compression mirrors grpc.Compression (grpcio 1.23 and later): the
// message compression algorithm of a channel, a server, a call or a
// response stream. Values are the core's grpc_compression_algorithm.
type Compression int

// The members of grpc.Compression.
const (
	// CompressionNoCompression mirrors Compression.NoCompression.
	CompressionNoCompression Compression = Compression(core.CompressNone)
	// CompressionDeflate mirrors Compression.Deflate.
	CompressionDeflate Compression = Compression(core.CompressDeflate)
	// CompressionGzip mirrors Compression.Gzip.
	CompressionGzip Compression = Compression(core.CompressGzip)
)

// String is the member's Python name ("Compression.Gzip").
func (c Compression) String() string {
	switch c {
	case CompressionNoCompression:
		return "Compression.NoCompression"
	case CompressionDeflate:
		return "Compression.Deflate"
	case CompressionGzip:
		return "Compression.Gzip"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// check refuses values outside the enum (grpcio raises on them).
func (c Compression) check() error {
	if core.CompressionName(int(c)) == "" || c < 0 {
		return &ValueError{Msg: fmt.Sprintf("unknown compression algorithm %d", int(c))}
	}
	return nil
}

// metadatum is grpcio's _compression.compression_algorithm_to_metadata:
// the entry that asks the core to compress one call (or one server
// response stream) with c (grpc-internal-encoding-request: gzip).
func (c Compression) metadatum() Metadatum {
	return Metadatum{Key: core.CompressionRequestKey, Value: core.CompressionName(int(c))}
}

// ChannelCompression is the compression= argument of insecure_channel
// and secure_channel, as a channel option: every call on the channel
// compresses its messages with c unless the call says otherwise. grpcio
// passes it to the core the same way (grpc.default_compression_algorithm).
func ChannelCompression(c Compression) ChannelOption {
	return ChannelOption{Key: core.CompressionDefaultArg, Value: int(c)}
}

// WithCompression is the compression= keyword of a multi-callable's
// __call__, with_call and future: this call's messages are compressed
// with c (grpcio adds grpc-internal-encoding-request to its metadata).
func WithCompression(c Compression) CallOption {
	return func(o *callOptions) { o.compression, o.hasCompression = c, true }
}

// WithServerCompression is grpc.server(..., compression=c): the server's
// responses are compressed with c unless a handler sets another
// (ServicerContext.SetCompression).
func WithServerCompression(c Compression) ServerOption {
	return func(o *serverOptions) {
		o.options = append(o.options, ChannelOption{Key: core.CompressionDefaultArg, Value: int(c)})
	}
}
