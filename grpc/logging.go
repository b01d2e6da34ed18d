package grpc

import (
	"log/slog"

	"github.com/grpcpy/grpcpy/internal/logging"
)

// SetLogger is where grpcpy logs, the Go counterpart of configuring
// logging.getLogger('grpc') in Python: every record of the library and
// every line the C core logs (gpr_log, routed through
// gpr_set_log_function) go to l. Records carry a "logger" attribute with
// grpcio's logger name ("grpc._server", "grpc._channel", ...; "grpc.core"
// for the core's lines, which also carry "file" and "line"), at grpcio's
// levels: _LOGGER.exception is ERROR. nil restores the default, which is
// slog.Default() at the time of each record, also letting through the
// core lines that GRPC_VERBOSITY asks for. GRPC_VERBOSITY and GRPC_TRACE
// are read by the core as in grpcio. l's handler runs on the goroutine or
// core thread that logs: it must not block or call into grpcpy.
func SetLogger(l *slog.Logger) { logging.Set(l) }

// Logger is the logger grpcpy logs to (see SetLogger).
func Logger() *slog.Logger { return logging.Get() }
