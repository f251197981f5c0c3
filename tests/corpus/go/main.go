// Command leashcorpus runs the Go twin of one scenario of leash's leak
// corpus (tests/corpus/scenarios.c), lets Go's goroutine leak profile
// (GOEXPERIMENT=goroutineleakprofile) judge it, and prints the leak set in
// the format of the C side's corpus_dump:
//
//	N|entry|wait reason|count
//
// one line per entry function and wait reason, sorted; nothing when no
// goroutine leaked.
//
// Usage:
//
//	leashcorpus [-dump] [-v] ID
//	leashcorpus -list
//
// ID is a scenario id of tests/corpus/SCENARIOS.md: "1" to "45", or a
// variant such as "15b".
//
// Build it with GOEXPERIMENT=goroutineleakprofile; without it the profile
// does not exist and the program exits with status 2. Exit status 1: the
// profile could not be written or parsed; 3: no twin of that scenario.
//
// The entry function is the bottom frame of a leaked goroutine's stack
// without "main." (closures would read "outer.func1"; the twins start
// none), the wait reason the header's bracket text without " (leaked)".
// README.md has the conventions, DISAGREEMENTS.md the scenarios where Go
// and leash differ.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A scenario starts the goroutines of one corpus scenario and returns. It
// must not keep references to what it made: the main goroutine runs the
// profile, so whatever its stack still points to is reachable.
type scenario func()

var scenarios = map[string]scenario{}

// register adds the twin of scenario id.
func register(id string, f scenario) {
	if scenarios[id] != nil {
		panic("scenario " + id + " registered twice")
	}
	scenarios[id] = f
}

// idLess orders ids numerically, then by variant suffix: 9 < 15 < 15b < 16.
func idLess(a, b string) int {
	na, sa := splitID(a)
	nb, sb := splitID(b)
	if na != nb {
		return na - nb
	}
	return strings.Compare(sa, sb)
}

func splitID(id string) (int, string) {
	i := strings.IndexFunc(id, func(r rune) bool { return r < '0' || r > '9' })
	if i < 0 {
		i = len(id)
	}
	n, _ := strconv.Atoi(id[:i])
	return n, id[i:]
}

func main() {
	dump := flag.Bool("dump", false, "also print the raw profile (debug=2) to stderr")
	verbose := flag.Bool("v", false, "print progress to stderr")
	list := flag.Bool("list", false, "print the scenario numbers this program has twins of")
	flag.Parse()
	if *list {
		var ids []string
		for id := range scenarios {
			ids = append(ids, id)
		}
		slices.SortFunc(ids, idLess)
		for _, id := range ids {
			fmt.Println(id)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: leashcorpus [-dump] [-v] ID | -list")
		os.Exit(2)
	}
	id := flag.Arg(0)
	run := scenarios[id]
	if run == nil {
		fmt.Fprintf(os.Stderr, "leashcorpus: no Go twin of scenario %s\n", id)
		os.Exit(3)
	}
	prof := pprof.Lookup("goroutineleak")
	if prof == nil {
		fmt.Fprintln(os.Stderr, "leashcorpus: no goroutineleak profile: build with GOEXPERIMENT=goroutineleakprofile")
		os.Exit(2)
	}

	// corpus_run: the scenario, then settle. Nothing of the scenario stays
	// live on this goroutine's stack: Go's stack maps are precise, so the
	// C side's scrubbing of dead frames has no twin here.
	run()
	if !settle(0) {
		fmt.Fprintf(os.Stderr, "leashcorpus: scenario %s: goroutines still runnable after 5s; judging anyway\n", id)
	}

	leaks, raw, err := judge(prof, *verbose)
	if err != nil {
		fmt.Fprintf(os.Stderr, "leashcorpus: scenario %s: %v\n", id, err)
		os.Exit(1)
	}
	if *dump {
		os.Stderr.Write(raw)
	}
	for _, line := range formatLeaks(id, leaks) {
		fmt.Println(line)
	}
}

// judge writes the goroutine leak profile until two consecutive profiles
// name the same leaks (at most 5 times) and returns the last one. A leaked
// goroutine stays leaked, so the set only grows; a second cycle gives Go
// the benefit of the doubt where the first one still saw a stale pointer
// or a goroutine that parked while the cycle ran.
func judge(prof *pprof.Profile, verbose bool) ([]leak, []byte, error) {
	var prev []string
	var leaks []leak
	var buf bytes.Buffer
	for i := 0; i < 5; i++ {
		buf.Reset()
		if err := prof.WriteTo(&buf, 2); err != nil {
			return nil, nil, err
		}
		var err error
		leaks, err = parseGoroutineDump(buf.String())
		if err != nil {
			return nil, nil, err
		}
		cur := formatLeaks("", leaks)
		if verbose {
			fmt.Fprintf(os.Stderr, "profile %d: %d leaked goroutines\n", i+1, len(leaks))
		}
		if i > 0 && slices.Equal(prev, cur) {
			break
		}
		prev = cur
	}
	return leaks, buf.Bytes(), nil
}

// settle is the twin of leash_settle: it lets the other goroutines run
// until none is runnable, checked twice a millisecond apart. With timers >
// 0 it also waits, for at most that long, until no goroutine is asleep in
// time.Sleep, so that a short sleeper reaches the operation it sleeps
// before (leash_settle's bounded wait for timers). It gives up after 5 s
// more and reports whether the goroutines settled.
func settle(timers time.Duration) bool {
	start := time.Now()
	deadline := start.Add(timers + 5*time.Second)
	quiet := 0
	buf := make([]byte, 1<<20)
	for time.Now().Before(deadline) {
		for i := 0; i < 10; i++ {
			runtime.Gosched()
		}
		time.Sleep(time.Millisecond)
		for {
			k := runtime.Stack(buf, true)
			if k < len(buf) {
				buf = buf[:k]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		waitSleepers := time.Since(start) < timers
		if allParked(string(buf), waitSleepers) {
			quiet++
			if quiet == 2 {
				return true
			}
		} else {
			quiet = 0
		}
		buf = buf[:cap(buf)]
	}
	return false
}

// allParked reports whether every goroutine in a dump but the first (the
// caller's own, which runtime.Stack prints first) is waiting; with
// noSleepers, waiting in time.Sleep does not count.
func allParked(dump string, noSleepers bool) bool {
	for i, block := range splitGoroutines(dump) {
		if i == 0 {
			continue
		}
		_, status, ok := parseHeader(block[0])
		if !ok {
			return false
		}
		status, _, _ = strings.Cut(status, ", ")
		switch status {
		case "running", "runnable", "syscall", "preempted", "copystack", "idle":
			return false
		case "sleep":
			if noSleepers {
				return false
			}
		}
	}
	return true
}
