package health

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinarySize builds the programs of sizes/ (stripped: -ldflags=-s -w,
// -trimpath), runs each, and reports what health checking costs a grpcpy
// program: grpcpy's grpc/health against the baseline, and against the
// alternative of grpc-go's generated grpc_health_v1 (which links grpc-go).
// sizes/both, with grpcpy's and grpc-go's health in one program, must
// start and answer both ways.
func TestBinarySize(t *testing.T) {
	dir := t.TempDir()
	size := map[string]int64{}
	for _, c := range []struct{ name, out string }{
		{"grpcpy", "Hello, you!\n"},
		{"grpcpyhealth", "Hello, you!\nSERVING\n"},
		{"grpcpygenerated", "Hello, you!\nSERVING\n"},
		{"both", "Hello, grpc-go!\nSERVING SERVING\n"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*timeout)
		bin := filepath.Join(dir, c.name)
		build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./sizes/"+c.name)
		if out, err := build.CombinedOutput(); err != nil {
			cancel()
			t.Fatalf("go build ./sizes/%s: %v\n%s", c.name, err, out)
		}
		out, err := exec.CommandContext(ctx, bin).CombinedOutput()
		cancel()
		if err != nil || string(out) != c.out {
			t.Errorf("%s: %v, printed %q, want %q", c.name, err, out, c.out)
		}
		fi, err := os.Stat(bin)
		if err != nil {
			t.Fatal(err)
		}
		size[c.name] = fi.Size()
	}
	var report strings.Builder
	for _, name := range []string{"grpcpy", "grpcpyhealth", "grpcpygenerated", "both"} {
		fmt.Fprintf(&report, "%16s: %s (%s over grpcpy)\n", name, kib(size[name]), signed(size[name]-size["grpcpy"]))
	}
	t.Logf("stripped sizes:\n%s", report.String())
	// Health checking costs grpcpy programs tens of KiB (protowire, no
	// descriptor machinery); a regression that links grpc-go or
	// protobuf-go's descriptor packages adds hundreds.
	if d := size["grpcpyhealth"] - size["grpcpy"]; d > 200<<10 {
		t.Errorf("grpc/health adds %s to a grpcpy program, more than 200 KiB", kib(d))
	}
}

func kib(n int64) string { return fmt.Sprintf("%d KiB", n/1024) }

func signed(n int64) string {
	if n >= 0 {
		return "+" + kib(n)
	}
	return "-" + kib(-n)
}
