package main

// The Go twins of the corpus scenarios (tests/corpus/scenarios.c). Each
// twin has the C scenario's structure: the same goroutines, started from
// functions with the same names (the names the leak sets are keyed by),
// the same channels and locks, the same order of operations. C's void *
// arguments become typed parameters, C structs become Go structs of the
// same name (with a _t suffix where Go would clash with a function or
// variable of the same name), leash_alloc and malloc become new or a
// composite literal. The names keep C's underscores on purpose.
//
// Every goroutine is started from a named top-level function, never a
// closure: a closure's entry would read "scenario_4.func1" and could not
// match the C side.

import (
	"sync"
	"time"
)

func init() {
	register("1", scenario_1)
	register("2", scenario_2)
	register("3", scenario_3)
	register("4", scenario_4)
	register("5", scenario_5)
	register("6", scenario_6)
	register("7", scenario_7)
	register("8", scenario_8)
	register("9", scenario_9)
	register("10", scenario_10)
	register("11", scenario_11)
	register("12", scenario_12)
	register("13", scenario_13)
	register("14", scenario_14)
	register("15", scenario_15)
	register("15b", scenario_15b)
	register("16", scenario_16)
	register("17", scenario_17)
}

// 1: a receive from a nil channel never completes, by definition.
func s01_child() {
	var c chan int
	<-c
}

func scenario_1() { go s01_child() }

// 2: a send on a nil channel never completes, by definition.
func s02_child() {
	var c chan int
	c <- 1
}

func scenario_2() { go s02_child() }

// 3: select {} never completes, by definition.
func s03_child() {
	select {}
}

func scenario_3() { go s03_child() }

// 4: the channel is the child's argument, and goroutine 1 drops it: only
// the blocked child's stack refers to it.
func s04_child(c chan int) {
	<-c
}

func scenario_4() { go s04_child(make(chan int)) }

// 5: as 4, sending.
func s05_child(c chan int) {
	c <- 1
}

func scenario_5() { go s05_child(make(chan int)) }

// 6: both channels of the select are reachable only from the child.
type s06_pair struct {
	out, in chan int
}

func s06_child(p *s06_pair) {
	v := 1
	select {
	case p.out <- v:
	case <-p.in:
	}
}

func scenario_6() {
	p := &s06_pair{out: make(chan int), in: make(chan int)}
	go s06_child(p)
}

// 7: the counter stays at 1; only the waiter holds the waitgroup.
func s07_child(wg *sync.WaitGroup) {
	wg.Wait()
}

func scenario_7() {
	wg := new(sync.WaitGroup)
	wg.Add(1)
	go s07_child(wg)
}

// 8: the mutex is a local of the child (Go moves it to the heap, since
// its address reaches the runtime's semaphore; only the child's stack
// points to it either way). 1000 children, each its own mutex: 1000 leaks.
func s08_child() {
	var mu sync.Mutex
	mu.Lock()
	mu.Lock()
}

func scenario_8() {
	for i := 0; i < 1000; i++ {
		go s08_child()
	}
}

// 9: each parent allocates a mutex, hands it to its child and returns: the
// mutex is referenced only by the child's stack. 1000 children leak.
func s09_child(mu *sync.Mutex) {
	mu.Lock()
	mu.Lock()
}

func s09_parent() {
	mu := new(sync.Mutex)
	go s09_child(mu)
}

func scenario_9() {
	for i := 0; i < 1000; i++ {
		go s09_parent()
	}
}

// 10: a read lock while holding the write lock waits for ever.
func s10_child(rw *sync.RWMutex) {
	rw.Lock()
	rw.RLock()
}

func scenario_10() { go s10_child(new(sync.RWMutex)) }

// 11: the write lock twice.
func s11_child(rw *sync.RWMutex) {
	rw.Lock()
	rw.Lock()
}

func scenario_11() { go s11_child(new(sync.RWMutex)) }

// 12: nobody else has the cond, so nobody can signal it.
type s12_cv struct {
	mu   sync.Mutex
	cond sync.Cond
}

func s12_child(cv *s12_cv) {
	cv.mu.Lock()
	cv.cond.Wait()
	cv.mu.Unlock()
}

func scenario_12() {
	cv := new(s12_cv)
	cv.cond.L = &cv.mu
	go s12_child(cv)
}

// 13: the parent waits for Done before receiving; the child's Done comes
// after a send that only the parent's receive could complete: both leak.
type s13_state struct {
	wg sync.WaitGroup
	c  chan int
}

func s13_child(st *s13_state) {
	st.c <- 1
	st.wg.Done()
}

func s13_parent() {
	st := new(s13_state)
	st.wg.Add(1)
	st.c = make(chan int)
	go s13_child(st)
	st.wg.Wait()
	<-st.c
}

func scenario_13() { go s13_parent() }

// 14, control: a global can still be used to send, so no leak.
var s14_ch chan int

func s14_child() {
	<-s14_ch
}

func scenario_14() {
	s14_ch = make(chan int)
	go s14_child()
}

// 15, control: the channel is only in a heap struct (C: a malloc'd block)
// that a global points to: reachable, no leak. 15b: the same struct
// referenced only by the blocked child's stack: 1 leak.
type s15_box_t struct {
	c chan int
}

var s15_box *s15_box_t

//go:noinline
func s15_new_box() *s15_box_t {
	return &s15_box_t{c: make(chan int)}
}

func s15_child(b *s15_box_t) {
	<-b.c
}

func scenario_15() {
	s15_box = s15_new_box()
	go s15_child(s15_box)
}

func s15b_child(b *s15_box_t) {
	<-b.c
}

func scenario_15b() { go s15b_child(s15_new_box()) }

// 16: link i receives from the channel of link i+1, then sends on its own;
// each channel is held only by the goroutine that will send on it (and the
// one that waits on it). The chain is live only through s16_last, which
// sleeps (never a candidate) and then sends: nothing leaks.
type s16_args struct {
	next chan int // the channel this link waits on
	own  chan int // the channel the link before waits on
}

func s16_link(a *s16_args) {
	v := <-a.next
	a.own <- v
}

func s16_last(c chan int) {
	time.Sleep(time.Hour)
	c <- 1
}

func corpus_daisy_chain(n int) {
	c := make(chan int)
	go s16_last(c)
	for i := n - 1; i >= 0; i-- {
		a := &s16_args{next: c}
		// Link 0 sends into a buffer, so the chain could end cleanly.
		if i == 0 {
			c = make(chan int, 1)
		} else {
			c = make(chan int)
		}
		a.own = c
		go s16_link(a)
	}
	settle(0)
}

func scenario_16() { corpus_daisy_chain(1000) }

// 17: levels 0 to 4; a node at level d < 4 starts 5-d nodes, so the levels
// hold 1, 5, 20, 60, 120 nodes, 206 in all. Each node also starts one
// s17_stuck on a channel the stuck goroutine makes itself: 206 leaks.
func s17_stuck() {
	<-make(chan int)
}

func s17_node(level int) {
	go s17_stuck()
	if level < 4 {
		for i := 0; i < 5-level; i++ {
			go s17_node(level + 1)
		}
	}
}

func scenario_17() { go s17_node(0) }
