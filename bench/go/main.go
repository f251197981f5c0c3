// Command bench is the Go twin of bench/leash_bench.c: the same
// benchmarks, doing the same work, printing the same lines (name,
// iterations, value, unit), so that bench/run.sh can put the two side by
// side. Keep the two in step: a benchmark changed on one side only
// measures nothing.
//
// Usage:
//
//	bench [all|micro|leak]   run benchmarks, print results
//	bench case KIND N        one leak case (used by "leak")
//
// It must be built with GOEXPERIMENT=goroutineleakprofile: the leak
// benchmarks time pprof.Lookup("goroutineleak").WriteTo, which runs a
// collection with leak detection and writes the profile. GOMAXPROCS is 1,
// as leash runs every goroutine on one thread.
//
// Micro benchmarks run n operations; n grows until one run lasts
// BENCH_TARGET_MS (300 by default), then five runs of that n are timed and
// the median is printed. Leaked goroutines never go away, so each leak
// case runs in a fresh process and the best of BENCH_LEAK_RUNS (3) is
// printed.
package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	waitGroupSize  = 1000
	bufferCap      = 128
	maxParked      = 100000
	heapGoroutines = 1000
)

var (
	targetNS  = int64(300 * time.Millisecond)
	wallClock bool
	wallStart = time.Now()
)

// benchClock is the clock every result is measured with: CPU time of the
// whole process (user and system, every thread) unless BENCH_CLOCK=wall,
// as in leash_bench.c. The machine is shared, and time spent descheduled
// says nothing about the runtime.
func benchClock() int64 {
	if wallClock {
		return int64(time.Since(wallStart))
	}
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func result(name string, iters int64, value float64, unit string) {
	fmt.Printf("%-34s %12d %14.3f %s\n", name, iters, value, unit)
}

// ---- Micro benchmarks ------------------------------------------------

// Each function runs n operations in the unit its result is given in.
// Set-up (a partner goroutine, channels) is inside the timing and
// amortized over n.

type partner struct {
	n    int64
	a, b chan int64
	done atomic.Bool // set by the partner as its last act
}

// waitPartner mirrors the C side, which must let the partner finish
// before the frame holding its struct goes.
func waitPartner(p *partner) {
	for !p.done.Load() {
		runtime.Gosched()
	}
}

func yieldPartner(p *partner) {
	for i := int64(0); i < p.n; i++ {
		runtime.Gosched()
	}
	p.done.Store(true)
}

// benchYield: n yields in all, half on each side; the result is per
// switch.
func benchYield(n int64) {
	p := &partner{n: n / 2}
	go yieldPartner(p)
	for i := int64(0); i < n/2; i++ {
		runtime.Gosched()
	}
	waitPartner(p)
}

func noop() {}

// benchSpawn spawns a goroutine and lets it run to its end before the next
// one.
func benchSpawn(n int64) {
	for i := int64(0); i < n; i++ {
		go noop()
		runtime.Gosched()
	}
}

func pingpongPartner(p *partner) {
	for i := int64(0); i < p.n; i++ {
		v := <-p.a
		p.b <- v
	}
	p.done.Store(true)
}

// benchPingpong: one round trip is a value to the partner and back, two
// channel transfers.
func benchPingpong(n int64) {
	p := &partner{n: n, a: make(chan int64), b: make(chan int64)}
	go pingpongPartner(p)
	for i := int64(0); i < n; i++ {
		p.a <- i
		<-p.b
	}
	waitPartner(p)
}

func bufferedSender(p *partner) {
	for i := int64(0); i < p.n; i++ {
		p.a <- i
	}
	p.done.Store(true)
}

// benchBuffered: n elements through a channel of bufferCap; the result is
// per element.
func benchBuffered(n int64) {
	p := &partner{n: n, a: make(chan int64, bufferCap)}
	go bufferedSender(p)
	for i := int64(0); i < n; i++ {
		<-p.a
	}
	waitPartner(p)
}

func selectSender(p *partner) {
	for i := int64(0); i < p.n; i++ {
		if i%2 == 0 {
			p.a <- i
		} else {
			p.b <- i
		}
	}
	p.done.Store(true)
}

// benchSelect: the sender alternates between two unbuffered channels, the
// receiver selects on both; the result is per select.
func benchSelect(n int64) {
	p := &partner{n: n, a: make(chan int64), b: make(chan int64)}
	var v, sum int64
	go selectSender(p)
	for i := int64(0); i < n; i++ {
		select {
		case v = <-p.a:
		case v = <-p.b:
		}
		sum += v
	}
	waitPartner(p)
	if sum != n*(n-1)/2 {
		fmt.Fprintln(os.Stderr, "bench: select lost values")
		os.Exit(1)
	}
}

var benchMu sync.Mutex

func benchMutex(n int64) {
	for i := int64(0); i < n; i++ {
		benchMu.Lock()
		benchMu.Unlock()
	}
}

var benchWG sync.WaitGroup

func wgDone() { benchWG.Done() }

// benchWaitGroup: one op is waitGroupSize goroutines that call Done, and
// the Wait.
func benchWaitGroup(n int64) {
	for i := int64(0); i < n; i++ {
		benchWG.Add(waitGroupSize)
		for j := 0; j < waitGroupSize; j++ {
			go wgDone()
		}
		benchWG.Wait()
	}
}

var micros = []struct {
	name string
	fn   func(int64)
}{
	{"yield", benchYield},
	{"spawn_exit", benchSpawn},
	{"pingpong_unbuffered", benchPingpong},
	{"chan_buffered_128", benchBuffered},
	{"select_2", benchSelect},
	{"mutex_uncontended", benchMutex},
	{"waitgroup_1000", benchWaitGroup},
}

func timeRun(fn func(int64), n int64) int64 {
	t0 := benchClock()
	fn(n)
	return benchClock() - t0
}

// measure grows n until a run lasts targetNS, as the testing package does,
// then times five runs of that n. Result: the median ns per operation.
func measure(fn func(int64)) (float64, int64) {
	n := int64(1)
	runtime.GC()
	for {
		t := timeRun(fn, n)
		if t >= targetNS || n >= 1000000000 {
			break
		}
		want := n * 100
		if t > 0 {
			want = int64(1.2 * float64(targetNS) * float64(n) / float64(t))
		}
		if want > n*100 {
			want = n * 100
		}
		if want > n {
			n = want
		} else {
			n++
		}
	}
	runs := make([]int64, 5)
	for i := range runs {
		runs[i] = timeRun(fn, n)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	return float64(runs[2]) / float64(n), n
}

func runMicro() {
	for _, m := range micros {
		ns, iters := measure(m.fn)
		result(m.name, iters, ns, "ns/op")
	}
}

// ---- Leak cases (each in a fresh process) ----------------------------

// Channels the live half waits on: a global array, hence a root.
var liveChans [maxParked / 2]chan int64

// parked counts goroutines about to block, so that the set-up can wait for
// all of them (leash_settle on the C side).
var parked atomic.Int64

func parkLive(i int) {
	parked.Add(1)
	<-liveChans[i]
}

// parkLeaked waits on a channel only its own stack knows: leaked.
func parkLeaked() {
	c := make(chan int64)
	parked.Add(1)
	<-c
}

// spawnParked starts n goroutines, every other one leaked. Result: the
// goroutines started and the leaks expected.
func spawnParked(n int64) (int64, int64) {
	if n > maxParked {
		fmt.Fprintf(os.Stderr, "bench: at most %d parked goroutines\n",
			maxParked)
		os.Exit(2)
	}
	for i := int64(0); i < n; i++ {
		if i%2 == 0 {
			liveChans[i/2] = make(chan int64)
			go parkLive(int(i / 2))
		} else {
			go parkLeaked()
		}
	}
	return n, n / 2
}

// node is 64 bytes, as struct node in leash_bench.c.
type node struct {
	next    *node
	payload [7]uint64
}

var heapRoot *node

func buildHeap(mb int64) {
	n := mb * 1024 * 1024 / 64
	for i := int64(0); i < n; i++ {
		p := &node{next: heapRoot}
		for j := range p.payload {
			p.payload[j] = uint64(i)*8 + uint64(j)
		}
		heapRoot = p
	}
}

// chainLink is one link of the daisy chain (scenario 16): it waits to
// receive from the channel of the link it started, then sends on its own;
// the last link sleeps for an hour first. Nothing leaks, but only the
// sleeper is a root, so liveness has to travel the whole chain.
func chainLink(out chan int64, left int64) {
	if left == 0 {
		parked.Add(1)
		time.Sleep(time.Hour)
		out <- 0
		return
	}
	in := make(chan int64)
	go chainLink(in, left-1)
	parked.Add(1)
	v := <-in
	out <- v
}

//go:noinline
func startChain(n int64) {
	go chainLink(make(chan int64), n-1)
}

// timeLeakProfile times one leak profile: a collection with leak
// detection, and the profile written.
func timeLeakProfile(prof *pprof.Profile) int64 {
	t0 := benchClock()
	if err := prof.WriteTo(io.Discard, 0); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	return benchClock() - t0
}

// runCase sets up one case, lets everything park, then times a plain
// collection, the first leak profile and a second one, which finds nothing
// new but still collects, analyses and writes every leaked goroutine
// again. Prints "gc NS", "leak NS", "again NS", "leaked K", "expect K".
func runCase(kind string, n int64) {
	var started, expect int64
	switch kind {
	case "parked":
		started, expect = spawnParked(n)
	case "heap":
		buildHeap(n)
		started, expect = spawnParked(heapGoroutines)
	case "daisy":
		startChain(n)
		started, expect = n, 0
	default:
		fmt.Fprintf(os.Stderr, "bench: unknown case %s\n", kind)
		os.Exit(2)
	}
	for parked.Load() < started {
		runtime.Gosched()
	}
	// The last one counted may not have parked yet.
	for i := 0; i < 10; i++ {
		runtime.Gosched()
	}

	prof := pprof.Lookup("goroutineleak")
	if prof == nil {
		fmt.Fprintln(os.Stderr,
			"bench: no goroutineleak profile: build with "+
				"GOEXPERIMENT=goroutineleakprofile")
		os.Exit(2)
	}

	// The first collection after set-up does extra work; time the second.
	runtime.GC()
	t0 := benchClock()
	runtime.GC()
	tGC := benchClock() - t0

	tLeak := timeLeakProfile(prof)
	leaked := prof.Count()
	// A first profile that took more than 10 s is not repeated (the daisy
	// chain of 100 000 takes minutes): -1 says so.
	tAgain := int64(-1)
	if tLeak <= int64(10*time.Second) {
		tAgain = timeLeakProfile(prof)
	}

	fmt.Printf("gc %d\nleak %d\nagain %d\nleaked %d\nexpect %d\n",
		tGC, tLeak, tAgain, leaked, expect)
	os.Exit(0)
}

type caseResult struct {
	gcNS, leakNS, againNS int64
	timedOut              bool // leakNS is the CPU time used until killed
}

var leakTimeout = 300 * time.Second

// runChild runs "case KIND N" in a fresh process.
func runChild(kind string, n int64) (caseResult, bool) {
	res := caseResult{gcNS: -1, leakNS: -1, againNS: -1}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return res, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), leakTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "case", kind,
		strconv.FormatInt(n, 10))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		// What the killed process used is a lower bound: set-up, one
		// collection and the unfinished profile.
		fmt.Fprintf(os.Stderr, "bench: case %s %d: no result within %v\n",
			kind, n, leakTimeout)
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			res.leakNS = ru.Utime.Nano() + ru.Stime.Nano()
			res.timedOut = true
			return res, true
		}
		return res, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: case %s %d failed: %v\n",
			kind, n, err)
		return res, false
	}
	leaked, expect := int64(-1), int64(-2)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "gc":
			res.gcNS = v
		case "leak":
			res.leakNS = v
		case "again":
			res.againNS = v
		case "leaked":
			leaked = v
		case "expect":
			expect = v
		}
	}
	if res.leakNS < 0 {
		return res, false
	}
	if leaked != expect {
		fmt.Fprintf(os.Stderr, "bench: case %s %d: %d leaks reported, "+
			"%d expected\n", kind, n, leaked, expect)
		return res, false
	}
	return res, true
}

// bestOf runs a case in up to runs fresh processes and keeps the best
// times; one that needed more than 10 s is not repeated (the daisy chain
// of 100 000). Result: the best times and how many runs there were.
func bestOf(kind string, n int64, runs int) (caseResult, int64, bool) {
	best := caseResult{1<<63 - 1, 1<<63 - 1, 1<<63 - 1, false}
	for i := 0; i < runs; i++ {
		r, ok := runChild(kind, n)
		if !ok {
			return best, 0, false
		}
		if r.timedOut {
			return r, int64(i + 1), true
		}
		best.gcNS = min(best.gcNS, r.gcNS)
		best.leakNS = min(best.leakNS, r.leakNS)
		best.againNS = min(best.againNS, r.againNS)
		if r.leakNS > int64(10*time.Second) {
			return best, int64(i + 1), true
		}
	}
	return best, int64(runs), true
}

// printCase prints the lines of one case: first analysis, second one,
// plain collection. A case that timed out prints its first analysis as a
// lower bound, ">ms", and nothing else; a second analysis that was not run
// (the first took over 10 s) is left out.
func printCase(label string, runs int64, r caseResult) {
	if r.timedOut {
		fmt.Printf("%-34s %12d %14s %s\n", "leak/"+label, runs,
			fmt.Sprintf(">%.3f", float64(r.leakNS)/1e6), "ms/op")
		return
	}
	result("leak/"+label, runs, float64(r.leakNS)/1e6, "ms/op")
	if r.againNS >= 0 {
		result("leak-again/"+label, runs, float64(r.againNS)/1e6, "ms/op")
	}
	result("gc/"+label, runs, float64(r.gcNS)/1e6, "ms/op")
}

func runLeak() {
	// Goroutine counts; the daisy chain also at 30 000, where Go still
	// finishes in seconds, to show how its cost grows.
	counts := map[string][]int64{
		"parked": {1000, 10000, 100000},
		"daisy":  {1000, 10000, 30000, 100000},
	}
	mbs := []int64{10, 100}
	runs := 3
	v, err := strconv.Atoi(os.Getenv("BENCH_LEAK_RUNS"))
	if err == nil && v > 0 {
		runs = v
	}
	base := caseResult{-1, -1, -1, false}
	for _, kind := range []string{"parked", "daisy"} {
		for _, n := range counts[kind] {
			r, r64, ok := bestOf(kind, n, runs)
			if !ok {
				continue
			}
			if kind == "parked" && n == heapGoroutines {
				base = r
			}
			printCase(fmt.Sprintf("%s/%d", kind, n), r64, r)
			if r.timedOut {
				continue
			}
			// Flat from 1k to 100k goroutines means linear growth.
			result(fmt.Sprintf("leak/%s/%d/per-g", kind, n), r64,
				float64(r.leakNS)/1e3/float64(n), "us/goroutine")
		}
	}
	for _, mb := range mbs {
		r, r64, ok := bestOf("heap", mb, runs)
		if !ok {
			continue
		}
		printCase(fmt.Sprintf("heap/%dMB", mb), r64, r)
		// The heap's share: the same goroutines without the heap cost
		// leak/parked/1000. Flat from 10 to 100 MB means linear.
		if base.leakNS >= 0 {
			result(fmt.Sprintf("leak/heap/%dMB/per-MB", mb), r64,
				float64(r.leakNS-base.leakNS)/1e6/float64(mb), "ms/MB")
		}
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: bench [all|micro|leak]\n"+
		"       bench case parked|heap|daisy N")
	os.Exit(2)
}

func main() {
	runtime.GOMAXPROCS(1)
	v, err := strconv.ParseInt(os.Getenv("BENCH_TARGET_MS"), 10, 64)
	if err == nil && v > 0 {
		targetNS = v * int64(time.Millisecond)
	}
	v, err = strconv.ParseInt(os.Getenv("BENCH_LEAK_TIMEOUT_S"), 10, 64)
	if err == nil && v > 0 {
		leakTimeout = time.Duration(v) * time.Second
	}
	wallClock = os.Getenv("BENCH_CLOCK") == "wall"

	mode := "all"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if mode == "case" {
		if len(os.Args) != 4 {
			usage()
		}
		n, err := strconv.ParseInt(os.Args[3], 10, 64)
		if err != nil {
			usage()
		}
		runCase(os.Args[2], n)
		return
	}
	if mode != "all" && mode != "micro" && mode != "leak" {
		usage()
	}
	clock := "cpu (getrusage)"
	if wallClock {
		clock = "wall"
	}
	fmt.Printf("# go: %s, GOMAXPROCS=%d, clock %s\n", runtime.Version(),
		runtime.GOMAXPROCS(0), clock)
	if mode == "all" || mode == "micro" {
		runMicro()
	}
	if mode == "all" || mode == "leak" {
		runLeak()
	}
}
