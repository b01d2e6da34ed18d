// Command burst measures a gRPC server's memory before, during and after a
// burst of open-and-reset streams (a client opens a streaming RPC and
// cancels it at once: RST_STREAM), for a grpcpy server and a grpcio server
// on the same core.
//
//	burst [run] --impl=grpcpy,grpcio --runs=3 --streams=20000 --concurrency=500
//	burst server [--workers=0]        # the grpcpy server (started by run)
//
// An --impl entry may carry environment variables for its server process,
// as a label: --impl=grpcpy,grpcpy:GRPCPY_POLLERS=2,grpcio.
//
// Both servers serve burst.Echo: Stream (stream-stream, echoes each request)
// and UnaryStream (sends the request back --count times), raw bytes. The
// grpcio one is tests/python/burst_server.py, run with /usr/bin/python3.
//
// For each run and each server, run starts the server process (127.0.0.1,
// kernel-picked port), reads its RSS at idle, fires --streams open-and-reset
// streams from a grpcpy client in this process with --concurrency in
// flight (each: open, send one message unless --send=false, wait --hold,
// cancel), closes the client's channel unless --keep_channel, then polls
// the server's RSS until it is stable (2 MiB-wide over 2 s, under 5% of a
// CPU) or --settle (8 s) has passed, and prints one line per server run:
//
//	BURST impl=grpcpy run=1 rss_idle_mib=.. rss_peak_mib=.. rss_after_mib=.. settle_s=.. burst_s=.. server_cpu_s=.. threads=..
//
// and the breakdown of the server's memory after the burst:
//
//	SMAPS impl=.. go_heap_mib=.. glibc_brk_mib=.. glibc_arenas_mib=.. (n=..) thread_stacks_mib=.. (n=..) other_anon_mib=.. file_mib=..
//	STATS impl=.. {json}   (the server's own report: Go runtime memory, goroutines,
//	                        core.Live and UnwaitedTags for grpcpy; mallinfo2 for grpcio)
//
// then a table of medians per server. rss_peak is VmHWM (the high-water
// mark of the server process's RSS); server_cpu_s is the server's user+system
// CPU from just before the burst to the end of the settle.
//
// The SMAPS line classifies /proc/PID/smaps by mapping: go_heap is the Go
// arena range (anonymous, between 4 GiB and 1<<46), glibc_brk the main arena ([heap]),
// glibc_arenas the 64 MiB-aligned heaps of glibc's per-thread arenas,
// thread_stacks the anonymous mappings right above a 4 KiB guard page,
// other_anon the rest of the anonymous memory (mmap'd malloc chunks, Go's
// runtime metadata, Python's object arenas), file the mapped files.
//
// The servers take commands on stdin, one a line, and answer one line on
// stdout: "stats" (STATS {json}), "live" (grpcpy: core calls alive and
// goroutines, polled during the burst for peak_live_calls and
// peak_goroutines), "gc" (grpcpy: runtime.GC and
// debug.FreeOSMemory, then STATS), "trim" (grpcio: malloc_trim(0)); they
// exit when stdin closes. --after=gc,trim sends such commands after the
// settle and reports the RSS after each (a diagnostic of what each part
// can give back); --after=wait=130s waits, then reports the RSS and stats. Everything is bounded by --timeout; the servers are
// killed by PID at the end.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/grpcpy/grpcpy/core"
	"github.com/grpcpy/grpcpy/grpc"
)

const (
	service           = "burst.Echo"
	streamMethod      = "/burst.Echo/Stream"
	unaryStreamMethod = "/burst.Echo/UnaryStream"
)

func main() {
	args := os.Args[1:]
	mode := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		mode, args = args[0], args[1:]
	}
	var err error
	switch mode {
	case "run":
		err = run(args)
	case "server":
		err = serve(args)
	default:
		err = fmt.Errorf("unknown mode %q (want run or server)", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "burst:", err)
		os.Exit(1)
	}
}

type config struct {
	impls       []string
	runs        int
	streams     int
	concurrency int
	rpc         string
	send        bool
	payload     int
	hold        time.Duration
	keepChannel bool
	settle      time.Duration
	after       []string
	python      string
	pyServer    string
	pyArgs      []string
	goArgs      []string
	timeout     time.Duration
	dumpMaps    int
}

func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c config
	impls := fs.String("impl", "grpcpy,grpcio", "servers to measure, comma-separated: grpcpy, grpcio, each optionally with :VAR=value environment settings for its process")
	fs.IntVar(&c.runs, "runs", 3, "runs per server, interleaved")
	fs.IntVar(&c.streams, "streams", 20000, "open-and-reset streams per burst")
	fs.IntVar(&c.concurrency, "concurrency", 500, "streams in flight from the client")
	fs.StringVar(&c.rpc, "rpc", "stream_stream", "stream_stream (open, send, cancel) or unary_stream (call, cancel)")
	fs.BoolVar(&c.send, "send", true, "stream_stream: send one message before cancelling")
	fs.IntVar(&c.payload, "payload", 32, "message bytes")
	fs.DurationVar(&c.hold, "hold", 0, "time between open (and send) and cancel")
	fs.BoolVar(&c.keepChannel, "keep_channel", false, "keep the client's channel (and connection) open during the settle")
	fs.DurationVar(&c.settle, "settle", 8*time.Second, "longest wait for the server's RSS to settle after the burst")
	after := fs.String("after", "", "steps after the settle, comma-separated, each followed by an RSS reading: a server command (gc, trim) or wait=DURATION")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "Python interpreter for the grpcio server")
	fs.StringVar(&c.pyServer, "py_server", "", "path of burst_server.py (default: tests/python/burst_server.py of the module)")
	pyArgs := fs.String("py_args", "", "extra arguments of the grpcio server, space-separated (e.g. --workers=10)")
	goArgs := fs.String("go_args", "", "extra arguments of the grpcpy server, space-separated (e.g. --workers=10)")
	fs.IntVar(&c.dumpMaps, "dump_maps", 0, "also print the server's N largest anonymous mappings by RSS after the settle")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the whole run: servers killed and exit 1 past it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.impls = splitList(*impls, ",")
	c.after = splitList(*after, ",")
	c.pyArgs = strings.Fields(*pyArgs)
	c.goArgs = strings.Fields(*goArgs)
	if c.streams < 1 || c.concurrency < 1 || c.runs < 1 {
		return errors.New("--streams, --concurrency and --runs must be at least 1")
	}
	if c.rpc != "stream_stream" && c.rpc != "unary_stream" {
		return fmt.Errorf("unknown --rpc %q", c.rpc)
	}
	needPy := false
	for _, impl := range c.impls {
		kind, _ := implKind(impl)
		if kind != "grpcpy" && kind != "grpcio" {
			return fmt.Errorf("unknown --impl %q", impl)
		}
		needPy = needPy || kind == "grpcio"
	}
	if needPy && c.pyServer == "" {
		p, err := findPyServer()
		if err != nil {
			return err
		}
		c.pyServer = p
	}

	watchdog := time.AfterFunc(c.timeout, func() {
		fmt.Fprintf(os.Stderr, "burst: --timeout %v passed, killing the servers\n", c.timeout)
		killAll()
		os.Exit(1)
	})
	defer watchdog.Stop()
	defer killAll()

	fmt.Printf("# streams=%d concurrency=%d rpc=%s send=%v payload=%d hold=%v keep_channel=%v settle=%v go_args=%q py_args=%q\n",
		c.streams, c.concurrency, c.rpc, c.send, c.payload, c.hold, c.keepChannel, c.settle, c.goArgs, c.pyArgs)
	results := map[string][]result{}
	for r := 1; r <= c.runs; r++ {
		for _, impl := range c.impls {
			res, err := measure(c, impl, r)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", impl, r, err)
			}
			results[impl] = append(results[impl], res)
		}
	}
	fmt.Println()
	w := 6
	for _, impl := range c.impls {
		w = max(w, len(impl))
	}
	fmt.Printf("%-*s %4s %9s %9s %9s %8s %12s\n", w, "impl", "runs", "idle_mib", "peak_mib", "after_mib", "burst_s", "server_cpu_s")
	for _, impl := range c.impls {
		rs := results[impl]
		med := func(f func(result) float64) float64 {
			v := make([]float64, len(rs))
			for i, r := range rs {
				v[i] = f(r)
			}
			slices.Sort(v)
			return v[len(v)/2]
		}
		fmt.Printf("%-*s %4d %9.1f %9.1f %9.1f %8.2f %12.2f   (medians)\n", w, impl, len(rs),
			med(func(r result) float64 { return r.idle }), med(func(r result) float64 { return r.peak }),
			med(func(r result) float64 { return r.after }), med(func(r result) float64 { return r.burst.Seconds() }),
			med(func(r result) float64 { return r.cpu }))
	}
	return nil
}

// implKind splits an --impl entry, "grpcpy" or "grpcio" optionally
// followed by environment variables for the server process
// ("grpcpy:GRPCPY_POLLERS=2:GODEBUG=..."); the whole entry is its label.
func implKind(impl string) (kind string, env []string) {
	parts := strings.Split(impl, ":")
	return parts[0], parts[1:]
}

func splitList(s, sep string) []string {
	var out []string
	for _, f := range strings.Split(s, sep) {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// findPyServer looks for tests/python/burst_server.py in the working
// directory and its parents (the module root).
func findPyServer() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tests", "python", "burst_server.py")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tests/python/burst_server.py not found from the working directory; pass --py_server")
		}
		dir = parent
	}
}

type result struct {
	idle, peak, after float64 // MiB
	burst             time.Duration
	cpu               float64 // server CPU seconds, burst and settle
}

func measure(c config, impl string, runNo int) (result, error) {
	var res result
	var cmd *exec.Cmd
	kind, env := implKind(impl)
	if kind == "grpcpy" {
		self, err := os.Executable()
		if err != nil {
			return res, err
		}
		cmd = exec.Command(self, append([]string{"server"}, c.goArgs...)...)
	} else {
		cmd = exec.Command(c.python, append([]string{c.pyServer}, c.pyArgs...)...)
	}
	cmd.Env = append(os.Environ(), env...)
	srv, err := startServer(cmd)
	if err != nil {
		return res, err
	}
	defer srv.stop()
	pid := srv.cmd.Process.Pid

	time.Sleep(500 * time.Millisecond) // let start-up allocations settle
	idle, err := procStatus(pid, "VmRSS:")
	if err != nil {
		return res, err
	}
	res.idle = mib(idle)

	ch, err := grpc.InsecureChannel(fmt.Sprintf("127.0.0.1:%d", srv.port))
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			ch.Close()
		}
	}()
	payload := make([]byte, c.payload)
	// One RPC first, so the connection is up before the burst.
	it, err := ch.UnaryStream(unaryStreamMethod).Call(payload, grpc.WithTimeout(15*time.Second), grpc.WithWaitForReady(true))
	if err != nil {
		return res, err
	}
	for _, err := range it.All() {
		if err != nil {
			return res, fmt.Errorf("first call: %w", err)
		}
	}

	cpu0, err := procCPU(pid)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	stopWatch := make(chan struct{})
	watched := make(chan peaks)
	go func() { watched <- watch(pid, srv, kind == "grpcpy", stopWatch) }()
	fails := burst(ch, c, payload)
	res.burst = time.Since(t0)
	if !c.keepChannel {
		ch.Close()
		closed = true
	}
	after, settled := settle(pid, c.settle)
	close(stopWatch)
	pk := <-watched
	res.after = mib(after)
	cpu1, err := procCPU(pid)
	if err != nil {
		return res, err
	}
	res.cpu = cpu1 - cpu0
	hwm, _ := procStatus(pid, "VmHWM:")
	res.peak = mib(hwm)
	threads, _ := procStatus(pid, "Threads:")

	live := ""
	if pk.calls >= 0 {
		live = fmt.Sprintf(" peak_live_calls=%d peak_goroutines=%d", pk.calls, pk.goroutines)
	}
	fmt.Printf("BURST impl=%s run=%d rss_idle_mib=%.1f rss_peak_mib=%.1f rss_after_mib=%.1f settle_s=%.1f burst_s=%.2f streams_per_s=%.0f open_failures=%d server_cpu_s=%.2f threads=%d peak_threads=%d%s\n",
		impl, runNo, res.idle, res.peak, res.after, settled.Seconds(), res.burst.Seconds(),
		float64(c.streams)/res.burst.Seconds(), fails, res.cpu, threads, pk.threads, live)
	if sm, big, err := classifySmaps(pid, c.dumpMaps); err == nil {
		fmt.Printf("SMAPS impl=%s run=%d %s\n", impl, runNo, sm)
		for _, m := range big {
			fmt.Printf("MAP impl=%s run=%d %x-%x %s size_kib=%d rss_kib=%d %s\n", impl, runNo, m.start, m.end, m.perms, (m.end-m.start)>>10, m.rss, m.kind)
		}
	}
	if line, err := srv.command("stats"); err == nil {
		fmt.Printf("STATS impl=%s run=%d %s\n", impl, runNo, strings.TrimPrefix(line, "STATS "))
	}
	for _, a := range c.after {
		if v, ok := strings.CutPrefix(a, "wait="); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return res, fmt.Errorf("--after %s: %w", a, err)
			}
			time.Sleep(d)
			rss, _ := procStatus(pid, "VmRSS:")
			line, _ := srv.command("stats")
			fmt.Printf("AFTER impl=%s run=%d cmd=%s rss_mib=%.1f reply=%s\n", impl, runNo, a, mib(rss), line)
			continue
		}
		t := time.Now()
		line, err := srv.command(a)
		if err != nil {
			return res, fmt.Errorf("command %s: %w", a, err)
		}
		d := time.Since(t)
		time.Sleep(200 * time.Millisecond)
		rss, _ := procStatus(pid, "VmRSS:")
		fmt.Printf("AFTER impl=%s run=%d cmd=%s took_s=%.3f rss_mib=%.1f reply=%s\n", impl, runNo, a, d.Seconds(), mib(rss), line)
	}
	return res, nil
}

// burst fires c.streams open-and-reset RPCs, c.concurrency at a time, and
// returns how many could not be started.
func burst(ch *grpc.Channel, c config, payload []byte) int64 {
	ss := ch.StreamStream(streamMethod)
	us := ch.UnaryStream(unaryStreamMethod)
	var next, fails atomic.Int64
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(c.streams) {
				var call grpc.Call
				if c.rpc == "unary_stream" {
					it, err := us.Call(payload, grpc.WithTimeout(30*time.Second))
					if err != nil {
						fails.Add(1)
						continue
					}
					call = it
				} else {
					s, err := ss.Open(grpc.WithTimeout(30 * time.Second))
					if err != nil {
						fails.Add(1)
						continue
					}
					if c.send {
						s.Write(payload) // an error means the RPC is over already
					}
					call = s
				}
				if c.hold > 0 {
					time.Sleep(c.hold)
				}
				call.Cancel()
			}
		}()
	}
	wg.Wait()
	return fails.Load()
}

type peaks struct{ threads, calls, goroutines int64 }

// watch samples the server every 100 ms until stop is closed: its OS
// threads and, for grpcpy ("live" command), the core calls alive and the
// goroutines. calls is -1 when not sampled.
func watch(pid int, srv *serverProc, live bool, stop <-chan struct{}) peaks {
	p := peaks{calls: -1, goroutines: -1}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if n, err := procStatus(pid, "Threads:"); err == nil {
			p.threads = max(p.threads, n)
		}
		if live {
			line, err := srv.command("live")
			var v struct{ Calls, Goroutines int64 }
			if err == nil && json.Unmarshal([]byte(strings.TrimPrefix(line, "LIVE ")), &v) == nil {
				p.calls, p.goroutines = max(p.calls, v.Calls), max(p.goroutines, v.Goroutines)
			}
		}
		select {
		case <-stop:
			return p
		case <-t.C:
		}
	}
}

// settle polls the RSS every 100 ms until the last 2 seconds' readings lie
// within 2 MiB and the server used under 5% of a CPU over them (it is done
// with the burst's calls), or max has passed; it returns the last
// reading (kB) and the time it took.
func settle(pid int, max time.Duration) (int64, time.Duration) {
	start := time.Now()
	var window []int64
	var cpus []float64
	for {
		rss, err := procStatus(pid, "VmRSS:")
		if err != nil {
			return 0, time.Since(start)
		}
		cpu, _ := procCPU(pid)
		window, cpus = append(window, rss), append(cpus, cpu)
		if len(window) > 21 {
			window, cpus = window[1:], cpus[1:]
		}
		if len(window) == 21 && slices.Max(window)-slices.Min(window) <= 2048 && cpus[20]-cpus[0] <= 0.1 {
			return rss, time.Since(start)
		}
		if time.Since(start) >= max {
			return rss, time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func mib(kb int64) float64 { return float64(kb) / 1024 }

// ---- server processes ----

type serverProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	port  int
	mu    sync.Mutex
}

var (
	procsMu sync.Mutex
	procs   = map[int]*exec.Cmd{}
)

// killAll kills every server still running, by PID.
func killAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for pid, cmd := range procs {
		cmd.Process.Kill()
		delete(procs, pid)
	}
}

// startServer starts a server process and waits (at most 20 s) for its
// "PORT n" line.
func startServer(cmd *exec.Cmd) (*serverProc, error) {
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	procsMu.Lock()
	procs[cmd.Process.Pid] = cmd
	procsMu.Unlock()
	s := &serverProc{cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
		close(s.lines)
	}()
	select {
	case line, ok := <-s.lines:
		if p, found := strings.CutPrefix(line, "PORT "); ok && found {
			if s.port, err = strconv.Atoi(p); err == nil {
				return s, nil
			}
		}
		s.stop()
		return nil, fmt.Errorf("%s: expected PORT n, got %q", cmd.Path, line)
	case <-time.After(20 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s: no PORT line within 20 s", cmd.Path)
	}
}

// command sends one command line and waits (at most 30 s) for its answer.
func (s *serverProc) command(cmd string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := io.WriteString(s.stdin, cmd+"\n"); err != nil {
		return "", err
	}
	select {
	case line, ok := <-s.lines:
		if !ok {
			return "", errors.New("server exited")
		}
		return line, nil
	case <-time.After(30 * time.Second):
		return "", errors.New("no answer within 30 s")
	}
}

// stop closes the server's stdin (it stops and exits), waits at most 5 s,
// then kills it by PID.
func (s *serverProc) stop() {
	s.stdin.Close()
	done := make(chan struct{})
	go func() {
		s.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	procsMu.Lock()
	delete(procs, s.cmd.Process.Pid)
	procsMu.Unlock()
}

// ---- /proc ----

// procStatus reads a number from /proc/PID/status (kB for memory lines).
func procStatus(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			return strconv.ParseInt(strings.Fields(v)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}

// procCPU is the process's user+system CPU time in seconds
// (/proc/PID/stat, clock ticks of 1/100 s).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: fields start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("bad /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad /proc stat")
	}
	return float64(utime+stime) / 100, nil
}

type mapping struct {
	start, end uint64
	perms      string
	path       string
	rss        int64 // kB
	kind       string
}

// classifySmaps sums the RSS of /proc/PID/smaps by kind of mapping; it
// also returns the top anonymous mappings by RSS.
func classifySmaps(pid, top int) (string, []mapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	var maps []mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && len(fields[1]) == 4 {
			lo, hi, _ := strings.Cut(fields[0], "-")
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				m := mapping{start: start, end: end, perms: fields[1]}
				if len(fields) >= 6 {
					m.path = strings.Join(fields[5:], " ")
				}
				maps = append(maps, m)
				continue
			}
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && len(maps) > 0 {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			maps[len(maps)-1].rss = n
		}
	}
	if err := sc.Err(); err != nil {
		return "", nil, err
	}
	const (
		// Go's heap arenas: from Go 1.26 at a random base below 1<<46,
		// above the binary and the brk heap; before, from 0xc000000000 up.
		// glibc's and the runtime's other mmaps sit higher, near the
		// shared libraries (0x7f...).
		goArenaLo = 1 << 32
		goArenaHi = 1 << 46
		heapMax   = 64 << 20 // glibc's HEAP_MAX_SIZE on 64-bit
	)
	anon := func(m mapping) bool { return m.path == "" || strings.HasPrefix(m.path, "[anon") }
	var goHeap, brk, arenas, stacks, other, file int64
	var nArenas, nStacks int
	for i := range maps {
		m := &maps[i]
		switch {
		case m.path == "[heap]":
			brk += m.rss
			m.kind = "glibc_brk"
		case strings.HasPrefix(m.path, "/"):
			file += m.rss
			m.kind = "file"
		case !anon(*m):
			other += m.rss // [stack], [vdso], ...
			m.kind = m.path
		case m.start >= goArenaLo && m.start < goArenaHi:
			goHeap += m.rss
			m.kind = "go_heap"
		case m.perms == "rw-p" && m.start%heapMax == 0 && (m.end-m.start == heapMax ||
			i+1 < len(maps) && maps[i+1].start == m.end && maps[i+1].perms == "---p" && anon(maps[i+1]) &&
				maps[i+1].end == m.start+heapMax):
			arenas += m.rss
			nArenas++
			m.kind = "glibc_arena"
		case m.perms == "rw-p" && i > 0 && maps[i-1].end == m.start && maps[i-1].perms == "---p" &&
			anon(maps[i-1]) && maps[i-1].end-maps[i-1].start == 4096:
			stacks += m.rss
			nStacks++
			m.kind = "thread_stack"
		default:
			other += m.rss
			m.kind = "other_anon"
		}
	}
	var big []mapping
	for _, m := range maps {
		if m.kind != "file" && m.rss > 0 {
			big = append(big, m)
		}
	}
	slices.SortFunc(big, func(a, b mapping) int { return int(b.rss - a.rss) })
	big = big[:min(top, len(big))]
	k := func(v int64) string { return fmt.Sprintf("%.1f", mib(v)) }
	return fmt.Sprintf("go_heap_mib=%s glibc_brk_mib=%s glibc_arenas_mib=%s glibc_arenas_n=%d thread_stacks_mib=%s thread_stacks_n=%d other_anon_mib=%s file_mib=%s",
		k(goHeap), k(brk), k(arenas), nArenas, k(stacks), nStacks, k(other), k(file)), big, nil
}

// ---- the grpcpy server ----

// Hooks for experiments (set by other files of this package in a scratch
// tree): more server options, stats and stdin commands.
var (
	extraServerOptions []grpc.ServerOption
	extraStats         []func(map[string]any)
	extraCommands      = map[string]func() any{}
)

func serve(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	workers := fs.Int("workers", 0, "handler pool size (grpc.NewThreadPoolExecutor); 0: a goroutine per RPC")
	count := fs.Int("count", 1, "responses per UnaryStream call")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var pool grpc.Executor
	if *workers > 0 {
		pool = grpc.NewThreadPoolExecutor(*workers)
	}
	stream := grpc.StreamStreamRpcMethodHandler(func(reqs iterSeq, _ *grpc.ServicerContext) iterSeq {
		return reqs // each request, in order, is the response
	})
	unaryStream := grpc.UnaryStreamRpcMethodHandler(func(req any, _ *grpc.ServicerContext) iterSeq {
		return func(yield func(any, error) bool) {
			for range *count {
				if !yield(req, nil) {
					return
				}
			}
		}
	})
	opts := append([]grpc.ServerOption{grpc.WithHandlers(grpc.MethodHandlersGenericHandler(service,
		map[string]*grpc.RpcMethodHandler{"Stream": stream, "UnaryStream": unaryStream}))}, extraServerOptions...)
	s, err := grpc.NewServer(pool, opts...)
	if err != nil {
		return err
	}
	port, err := s.AddInsecurePort("127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	fmt.Printf("PORT %d\n", port)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd := strings.TrimSpace(in.Text())
		switch {
		case cmd == "":
			continue
		case cmd == "quit":
		case cmd == "stats":
			printJSON("STATS", serverStats())
			continue
		case cmd == "live": // cheap, polled during the burst
			printJSON("LIVE", map[string]int64{"calls": core.Live().Calls, "goroutines": int64(runtime.NumGoroutine())})
			continue
		case cmd == "gc":
			t := time.Now()
			freeOSMemory()
			st := serverStats()
			st["gc_s"] = time.Since(t).Seconds()
			printJSON("STATS", st)
			continue
		case extraCommands[cmd] != nil:
			printJSON(strings.ToUpper(cmd), extraCommands[cmd]())
			continue
		default:
			fmt.Printf("ERROR unknown command %q\n", cmd)
			continue
		}
		break
	}
	s.Stop(0).Wait(3 * time.Second)
	return nil
}

func printJSON(tag string, v any) {
	b, _ := json.Marshal(v)
	fmt.Printf("%s %s\n", tag, b)
}
