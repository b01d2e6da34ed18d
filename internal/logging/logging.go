// Package logging is where every log line of grpcpy goes: the library's own
// (grpcio's module loggers, named by a "logger" attribute) and the C core's
// (gpr_log, routed here by package cgo). grpc.SetLogger replaces the
// destination; the default is slog.Default(), looked up at each record so
// a later slog.SetDefault is honoured.
package logging

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
)

// Logger names, as grpcio's logging.getLogger(__name__) calls them, so a
// handler can filter grpcpy's records the way a Python team filtered
// grpcio's.
const (
	Server      = "grpc._server"
	Channel     = "grpc._channel"
	Plugin      = "grpc._plugin_wrapping"
	Utilities   = "grpc._utilities"
	Interceptor = "grpc._interceptor"
	Common      = "grpc._common"
	// Testing is grpc_testing's time module (grpc/testing).
	Testing = "grpc_testing._time"
	// Core names the C core's gpr_log lines (grpcio prints them to stderr
	// from C; grpcpy routes them here).
	Core = "grpc.core"
)

var current atomic.Pointer[slog.Logger]

// Set installs l as the destination of every record; nil restores the
// default.
func Set(l *slog.Logger) { current.Store(l) }

// Get is the installed logger, or the default.
func Get() *slog.Logger {
	if l := current.Load(); l != nil {
		return l
	}
	return slog.New(defaultHandler{})
}

// For is Get with the "logger" attribute set to name.
func For(name string) *slog.Logger { return Get().With("logger", name) }

// verbosity is GRPC_VERBOSITY as the core reads it: the least severe core
// level printed (grpcio's default, and the core's, is ERROR).
var verbosity = func() slog.Level {
	switch strings.ToUpper(os.Getenv("GRPC_VERBOSITY")) {
	case "DEBUG":
		return slog.LevelDebug
	case "INFO":
		return slog.LevelInfo
	case "NONE":
		return slog.LevelError + 100
	}
	return slog.LevelError
}()

// defaultHandler forwards to slog.Default()'s handler, but also lets through
// what GRPC_VERBOSITY asks for: with GRPC_VERBOSITY=DEBUG a grpcio user sees
// the core's debug lines (and GRPC_TRACE output) without configuring slog,
// as they did on stderr.
type defaultHandler struct{ attrs []slog.Attr }

func (h defaultHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= verbosity || slog.Default().Handler().Enabled(ctx, l)
}

func (h defaultHandler) Handle(ctx context.Context, r slog.Record) error {
	inner := slog.Default().Handler()
	if _, loop := inner.(defaultHandler); loop { // slog.SetDefault(grpc.Logger())
		inner = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	return inner.Handle(ctx, r)
}

func (h defaultHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return defaultHandler{attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], as...)}
}

// WithGroup is rarely used on the library's records; groups are dropped
// rather than mis-nested.
func (h defaultHandler) WithGroup(string) slog.Handler { return h }

// Panic logs a recovered panic from user code at ERROR, with its value and
// stack, as grpcio's _LOGGER.exception(msg) logs a caught exception.
func Panic(name, msg string, r any) {
	For(name).Error(msg, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
}

// Guard runs a user callback, logging (not propagating) a panic: grpcio
// catches and logs what its callbacks raise, so one bad callback never
// takes down the process.
func Guard(name, msg string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			Panic(name, msg, r)
		}
	}()
	fn()
}

// Core severities (gpr_log_severity).
const (
	coreDebug = 0
	coreInfo  = 1
	coreError = 2
)

// CoreLine logs one gpr_log line. The core has already filtered it by
// GRPC_VERBOSITY, so what reaches here is what grpcio would print.
func CoreLine(severity int, file string, line int, msg string) {
	level := slog.LevelError
	switch severity {
	case coreDebug:
		level = slog.LevelDebug
	case coreInfo:
		level = slog.LevelInfo
	}
	l := Get()
	ctx := context.Background()
	if !l.Enabled(ctx, level) {
		return
	}
	l.LogAttrs(ctx, level, msg, slog.String("logger", Core), slog.String("file", file), slog.Int("line", line))
}
