//go:build cgo && grpc_static

package cgo

// Static build (go build -tags grpc_static): gRPC core, upb, re2, c-ares
// and abseil are linked from libgrpc-dev's static archives, so the binary
// does not need libgrpc installed; libc, OpenSSL, zlib and libstdc++ stay
// shared. The library list is Debian's libgrpc-dev 1.51 as
// scripts/gen-static-ldflags.sh prints it.

/*
#cgo LDFLAGS: -Wl,-Bstatic -Wl,--start-group -labsl_bad_optional_access -labsl_bad_variant_access -labsl_base -labsl_city -labsl_civil_time -labsl_cord -labsl_cord_internal -labsl_cordz_functions -labsl_cordz_handle -labsl_cordz_info -labsl_debugging_internal -labsl_demangle_internal -labsl_exponential_biased -labsl_graphcycles_internal -labsl_hash -labsl_hashtablez_sampler -labsl_int128 -labsl_log_severity -labsl_low_level_hash -labsl_malloc_internal -labsl_random_distributions -labsl_random_internal_platform -labsl_random_internal_pool_urbg -labsl_random_internal_randen -labsl_random_internal_randen_hwaes -labsl_random_internal_randen_hwaes_impl -labsl_random_internal_randen_slow -labsl_random_internal_seed_material -labsl_random_seed_gen_exception -labsl_random_seed_sequences -labsl_raw_hash_set -labsl_raw_logging_internal -labsl_spinlock_wait -labsl_stacktrace -labsl_status -labsl_statusor -labsl_str_format_internal -labsl_strerror -labsl_strings -labsl_strings_internal -labsl_symbolize -labsl_synchronization -labsl_throw_delegate -labsl_time -labsl_time_zone -laddress_sorting -lcares -lgpr -lgrpc -lre2 -lupb -Wl,--end-group -Wl,-Bdynamic -latomic -lcrypto -ldl -lrt -lssl -lz -lstdc++ -lm -lpthread
*/
import "C"

// LinkInfo says how the C core was linked into this binary.
const LinkInfo = "static (libgrpc.a and its dependencies; libc, OpenSSL, zlib shared)"
