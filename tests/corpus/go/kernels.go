package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"
)

func init() {
	register("24", scenario_24)
	register("25", scenario_25)
	register("26", scenario_26)
	register("27", scenario_27)
	register("28", scenario_28)
	register("29", scenario_29)
	register("30", scenario_30)
	register("31", scenario_31)
	register("32", scenario_32)
	register("33", scenario_33)
	register("34", scenario_34)
	register("35", scenario_35)
}

// 24: the watcher waits on the done channel of a context derived from the
// background (which keeps no list of children) that is never cancelled;
// the transaction is dropped: only the watcher's stack holds the context.
// (Go's WithCancel also returns the cancel function; the transaction keeps
// it, as a real one would for Commit and Rollback.)
type s24_tx struct {
	ctx    context.Context
	cancel context.CancelFunc
	state  int
}

func s24_watcher(tx *s24_tx) {
	<-tx.ctx.Done()
	tx.state = -1 // rolled back
}

//go:noinline
func s24_begin() *s24_tx {
	tx := new(s24_tx)
	tx.ctx, tx.cancel = context.WithCancel(context.Background())
	go s24_watcher(tx)
	return tx
}

func scenario_24() { _ = s24_begin() }

// 25: the suggestion buffer holds 1; the second suggestion blocks, and the
// compactor that would drain it is never started: 1 leak.
type s25_store struct {
	suggestions chan int
}

func s25_suggester(st *s25_store) {
	st.suggestions <- 1
	st.suggestions <- 2
}

func scenario_25() {
	st := &s25_store{suggestions: make(chan int, 1)}
	go s25_suggester(st)
}

// 26: both producers block on the unbuffered row channel; the consumer
// fails its start-up and returns: 2 leaks.
func s26_producer(rows chan int) {
	for i := 0; i < 3; i++ {
		rows <- i
	}
}

//go:noinline
func s26_startup() int { return -1 }

func s26_consumer(rows chan int) {
	if s26_startup() != 0 {
		return // neither drains nor closes the rows
	}
	for range rows {
	}
}

func scenario_26() {
	rows := make(chan int)
	go s26_producer(rows)
	go s26_producer(rows)
	go s26_consumer(rows)
}

// 27: the helper returns from its error path still holding a read lock;
// the writer started after it blocks for ever: 1 leak.
func s27_helper(rw *sync.RWMutex) {
	rw.RLock()
	// error path: return without RUnlock
}

func s27_writer(rw *sync.RWMutex) {
	rw.Lock()
	rw.Unlock()
}

func scenario_27() {
	rw := new(sync.RWMutex)
	go s27_helper(rw)
	settle(0)
	go s27_writer(rw)
}

// 28: a method holding the mutex calls another that locks it.
type s28_obj struct {
	mu sync.Mutex
	n  int
}

//go:noinline
func s28_len(o *s28_obj) int {
	o.mu.Lock()
	n := o.n
	o.mu.Unlock()
	return n
}

func s28_worker(o *s28_obj) {
	o.mu.Lock()
	o.n = s28_len(o) + 1
	o.mu.Unlock()
}

func scenario_28() { go s28_worker(new(s28_obj)) }

// 29: the caller returned before the worker reports done: 1 leak.
func s29_worker(done chan int) {
	done <- 1
}

func scenario_29() { go s29_worker(make(chan int)) }

// 30: close marks the stream closed but neither sends nor closes the data
// channel the reader waits on: 1 leak.
type s30_stream struct {
	data   chan int
	closed int
}

func s30_reader(s *s30_stream) {
	<-s.data
}

//go:noinline
func s30_close(s *s30_stream) {
	s.closed = 1 // the missing close(s.data)
}

func scenario_30() {
	s := &s30_stream{data: make(chan int)}
	go s30_reader(s)
	settle(0)
	s30_close(s)
}

// 31: the 1 ms timeout fires before the helper's 5 ms of work ends, so the
// select takes the timeout. Goroutine 1 then lets timers run (up to
// 100 ms) until the helper is blocked on its send: 1 leak.
func s31_helper(res chan int) {
	time.Sleep(5 * time.Millisecond)
	res <- 1
}

func scenario_31() {
	res := make(chan int)
	go s31_helper(res)
	select {
	case <-res:
		fmt.Fprintln(os.Stderr, "corpus 31: the result came before the timeout")
	case <-time.After(time.Millisecond):
	}
	settle(100 * time.Millisecond)
}

// 32: the watcher's initial event is a plain send on a result channel no
// one reads; stop closes only the input channel: 1 leak.
type s32_watch struct {
	input   chan int
	results chan int
}

func s32_watcher(w *s32_watch) {
	w.results <- 0 // initial event
	for ev := range w.input {
		w.results <- ev
	}
}

//go:noinline
func s32_stop(w *s32_watch) {
	close(w.input)
}

func scenario_32() {
	w := &s32_watch{input: make(chan int), results: make(chan int)}
	go s32_watcher(w)
	settle(0)
	s32_stop(w)
}

// 33: each proxy has its own mutex; the first iteration takes the error
// path and continues without unlocking, the second blocks in Lock. 20
// proxies: 20 leaks.
func s33_proxy() {
	mu := new(sync.Mutex)
	for i := 0; i < 3; i++ {
		mu.Lock()
		if i == 0 {
			continue // error path: the missing unlock
		}
		mu.Unlock()
	}
}

func scenario_33() {
	for i := 0; i < 20; i++ {
		go s33_proxy()
	}
}

// 34: Add(3), then Wait inside the loop that starts the workers: the first
// Wait needs 3 Dones with 1 worker started: 1 leak.
func s34_worker(wg *sync.WaitGroup) {
	wg.Done()
}

func s34_run() {
	wg := new(sync.WaitGroup)
	wg.Add(3)
	for i := 0; i < 3; i++ {
		go s34_worker(wg)
		wg.Wait()
	}
}

func scenario_34() { go s34_run() }

// 35: the writer calls a getter that read-locks the same rwmutex.
type s35_cache struct {
	rw sync.RWMutex
	v  int
}

//go:noinline
func s35_get(c *s35_cache) int {
	c.rw.RLock()
	v := c.v
	c.rw.RUnlock()
	return v
}

func s35_worker(c *s35_cache) {
	c.rw.Lock()
	c.v = s35_get(c) + 1
	c.rw.Unlock()
}

func scenario_35() { go s35_worker(new(s35_cache)) }
