// absl.cc: the one C++ helper of the shim. Debian builds abseil without
// NDEBUG, so every absl::Mutex::Lock inside the core runs abseil's debug
// deadlock detector: a global graph lock and a stack walk per lock. grpcio's
// wheels (and any release build of the core) have it compiled out. Turning
// it off gives the core its release behaviour: W2 +5-14%, W3 +4-15% in an
// A/B run (docs/performance.md). GRPCPY_ABSL_DEADLOCK_DETECTION=1 keeps it,
// for debugging the core.
//go:build cgo

#include <stdlib.h>
#include <string.h>

#include <absl/synchronization/mutex.h>

extern "C" void gp_absl_release_mode(void) {
  const char* keep = getenv("GRPCPY_ABSL_DEADLOCK_DETECTION");
  if (keep != nullptr && strcmp(keep, "1") == 0) return;
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}
