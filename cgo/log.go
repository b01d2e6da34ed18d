//go:build cgo

package cgo

/*
#include "shim.h"
*/
import "C"

import "github.com/grpcpy/grpcpy/internal/logging"

// goCoreLog receives each line the core logs (gpr_log, installed with
// gpr_set_log_function before grpc_init) on whatever thread logged it, and
// hands it to the library's logger with its severity, file and line.
//
//export goCoreLog
func goCoreLog(file *C.char, line C.int, severity C.int, msg *C.char) {
	logging.CoreLine(int(severity), C.GoString(file), int(line), C.GoString(msg))
}
