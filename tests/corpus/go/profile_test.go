package main

import (
	"slices"
	"testing"
)

// A dump written by pprof.Lookup("goroutineleak").WriteTo(w, 2) on Go
// 1.26.8, plus the suffixes the runtime may add to a header.
const sampleDump = `goroutine 1 [running]:
runtime/pprof.writeGoroutineStacks({0x516f78, 0x319ce09be040})
	/usr/local/go/src/runtime/pprof/pprof.go:819 +0x6b
main.main()
	/tmp/probe/main.go:44 +0x185

goroutine 7 [chan receive (nil chan) (leaked)]:
main.recvNil()
	/tmp/probe/main.go:12 +0x17
created by main.main in goroutine 1
	/tmp/probe/main.go:33 +0x1e

goroutine 8 [chan send (leaked), 3 minutes]:
main.sendOn(...)
	/tmp/probe/main.go:15
created by main.main in goroutine 1
	/tmp/probe/main.go:34 +0x6d

goroutine 9 [chan receive (leaked)]:
main.main.func1()
	/tmp/probe/main.go:35 +0x25
created by main.main in goroutine 1
	/tmp/probe/main.go:35 +0x79

goroutine 10 [select]:
main.(*comp).loop(...)
	/tmp/probe/main.go:20
created by main.main in goroutine 1
	/tmp/probe/main.go:37 +0x125

goroutine 11 [sync.Mutex.Lock (leaked)]:
internal/sync.runtime_SemacquireMutex(0x18?, 0x40?, 0x319ce09d6090?)
	/usr/local/go/src/runtime/sema.go:95 +0x25
sync.(*RWMutex).Lock(0x0?)
	/usr/local/go/src/sync/rwmutex.go:150 +0x32
main.rwTwice()
	/tmp/probe/main.go:29 +0x2f
created by main.main in goroutine 1
	/tmp/probe/main.go:38 +0x131

goroutine 12 [chan send (leaked)]:
main.sendOn(...)
	/tmp/probe/main.go:15
created by main.main in goroutine 1
	/tmp/probe/main.go:34 +0x6d

goroutine 13 [select (leaked), locked to thread]:
main.(*comp).loop(0xc000010000)
	/tmp/probe/main.go:20 +0x4e
created by main.main in goroutine 1
	/tmp/probe/main.go:37 +0x125
`

func TestParseGoroutineDump(t *testing.T) {
	leaks, err := parseGoroutineDump(sampleDump)
	if err != nil {
		t.Fatal(err)
	}
	got := formatLeaks("4", leaks)
	want := []string{
		"4|(*comp).loop|select|1",
		"4|main.func1|chan receive|1",
		"4|recvNil|chan receive (nil chan)|1",
		"4|rwTwice|sync.Mutex.Lock|1",
		"4|sendOn|chan send|2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func TestAllParked(t *testing.T) {
	if !allParked(sampleDump, true) {
		t.Error("sample: want all parked")
	}
	runnable := sampleDump + "\ngoroutine 20 [runnable]:\nmain.f()\n\t/x.go:1 +0x1\n"
	if allParked(runnable, false) {
		t.Error("with a runnable goroutine: want not all parked")
	}
	sleeper := sampleDump + "\ngoroutine 21 [sleep]:\nmain.f()\n\t/x.go:1 +0x1\n"
	if !allParked(sleeper, false) {
		t.Error("with a sleeper: want all parked")
	}
	if allParked(sleeper, true) {
		t.Error("with a sleeper, noSleepers: want not all parked")
	}
}

func TestLeakedReason(t *testing.T) {
	for _, tc := range []struct {
		status, reason string
		leaked         bool
	}{
		{"chan send (leaked)", "chan send", true},
		{"chan send (nil chan) (leaked), 12 minutes", "chan send (nil chan)", true},
		{"select (no cases)", "select (no cases)", false},
		{"sync.WaitGroup.Wait (leaked) (scan)", "sync.WaitGroup.Wait", true},
		{"sleep", "sleep", false},
	} {
		reason, leaked := leakedReason(tc.status)
		if reason != tc.reason || leaked != tc.leaked {
			t.Errorf("leakedReason(%q) = %q, %v; want %q, %v", tc.status, reason, leaked, tc.reason, tc.leaked)
		}
	}
}
