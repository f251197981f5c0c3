package main

import (
	"bufio"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// A leak is one goroutine that Go's goroutine leak profile marked as leaked.
type leak struct {
	id     string // goroutine id, as printed
	entry  string // entry function without the "main." prefix
	reason string // wait reason without " (leaked)" and suffixes
}

// leakKey groups leaks the way corpus_dump counts them.
type leakKey struct {
	entry  string
	reason string
}

// parseGoroutineDump reads a goroutine dump in the format of
// runtime.Stack(buf, true), which is what
// pprof.Lookup("goroutineleak").WriteTo(w, 2) writes after its leak
// detection cycle, and returns the goroutines whose header carries
// " (leaked)".
//
// A goroutine in the dump looks like this:
//
//	goroutine 8 [chan send (leaked), 2 minutes]:
//	main.inner(...)
//		/path/scenarios.go:15
//	main.entry(0xc000012345)
//		/path/scenarios.go:20 +0x25
//	created by main.spawn in goroutine 1
//		/path/scenarios.go:30 +0x6d
//
// The entry function is the bottom-most frame above "created by": the
// function given to the go statement. Go elides wrappers (gowrap
// closures made for "go f(x)") from tracebacks, and when a stack is longer
// than 100 frames it elides the middle, never the bottom, so that frame is
// always the entry.
func parseGoroutineDump(dump string) ([]leak, error) {
	var leaks []leak
	for _, block := range splitGoroutines(dump) {
		id, status, ok := parseHeader(block[0])
		if !ok {
			return nil, fmt.Errorf("malformed goroutine header %q", block[0])
		}
		reason, leaked := leakedReason(status)
		if !leaked {
			continue
		}
		entry, err := entryFunction(block[1:])
		if err != nil {
			return nil, fmt.Errorf("goroutine %s: %v", id, err)
		}
		leaks = append(leaks, leak{id: id, entry: entry, reason: reason})
	}
	return leaks, nil
}

// splitGoroutines cuts a dump into blocks of lines, one per goroutine,
// each starting with its "goroutine N [...]:" header.
func splitGoroutines(dump string) [][]string {
	var blocks [][]string
	var cur []string
	sc := bufio.NewScanner(strings.NewReader(dump))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "goroutine "):
			if cur != nil {
				blocks = append(blocks, cur)
			}
			cur = []string{line}
		case line == "":
			if cur != nil {
				blocks = append(blocks, cur)
				cur = nil
			}
		case cur != nil:
			cur = append(cur, line)
		}
	}
	if cur != nil {
		blocks = append(blocks, cur)
	}
	return blocks
}

// parseHeader splits "goroutine 8 [chan send (leaked)]:" (optionally with
// "gp=... m=..." after the id at GOTRACEBACK=system) into id and the text
// between the brackets.
func parseHeader(line string) (id, status string, ok bool) {
	rest, ok := strings.CutPrefix(line, "goroutine ")
	if !ok {
		return "", "", false
	}
	id, _, _ = strings.Cut(rest, " ")
	open := strings.Index(rest, " [")
	end := strings.LastIndex(rest, "]:")
	if open < 0 || end < open {
		return "", "", false
	}
	return id, rest[open+2 : end], true
}

// leakedReason turns the bracket text of a header into the wait reason and
// whether the goroutine is leaked. The runtime prints the status (the wait
// reason, which may itself hold parentheses, as in "chan receive (nil
// chan)"), then " (leaked)", " (scan)", " (durable)", ", N minutes" and
// ", locked to thread", each only when it applies. No wait reason contains
// ", ".
func leakedReason(status string) (reason string, leaked bool) {
	status, _, _ = strings.Cut(status, ", ")
	status = strings.TrimSuffix(status, " (durable)")
	status = strings.TrimSuffix(status, " (scan)")
	reason, leaked = strings.CutSuffix(status, " (leaked)")
	return reason, leaked
}

// entryFunction returns the bottom-most function of a goroutine's stack
// lines (function line, then a tab-indented file:line, per frame, then the
// "created by" pair), without its package prefix "main." and its
// argument list.
func entryFunction(lines []string) (string, error) {
	var last string
	for _, line := range lines {
		if strings.HasPrefix(line, "created by ") {
			break
		}
		if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "...") {
			continue
		}
		last = line
	}
	if last == "" {
		return "", fmt.Errorf("no frames")
	}
	return funcName(last), nil
}

// funcName turns a frame line such as "main.(*comp).loop(0x0?)" or
// "main.sendOn(...)" into "(*comp).loop" or "sendOn".
func funcName(frame string) string {
	// Arguments start at the last "(" of the line; method receivers such
	// as "(*comp)" come earlier.
	if i := strings.LastIndex(frame, "("); i > 0 && strings.HasSuffix(frame, ")") {
		frame = frame[:i]
	}
	return strings.TrimPrefix(frame, "main.")
}

// formatLeaks prints a leak set the way corpus_dump does: one line per
// (entry, wait reason) with its count, "ID|entry|wait reason|count",
// sorted by entry, then wait reason (byte order, as strcmp).
func formatLeaks(id string, leaks []leak) []string {
	counts := map[leakKey]int{}
	for _, l := range leaks {
		counts[leakKey{l.entry, l.reason}]++
	}
	keys := slices.Collect(maps.Keys(counts))
	slices.SortFunc(keys, func(a, b leakKey) int {
		if c := strings.Compare(a.entry, b.entry); c != 0 {
			return c
		}
		return strings.Compare(a.reason, b.reason)
	})
	lines := make([]string, 0, len(keys))
	for _, k := range keys {
		lines = append(lines, fmt.Sprintf("%s|%s|%s|%d", id, k.entry, k.reason, counts[k]))
	}
	return lines
}
