package core

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain requires every C object and goroutine to be gone at the end
// (leakcheck.Main cannot be used here: it imports this package).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		Shutdown()
		if l := Live(); l.Total() != 0 {
			fmt.Fprintf(os.Stderr, "C objects alive at exit: %+v\n", l)
			code = 1
		} else if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}
