package main

import (
	"context"
	"sync"
	"time"
)

func init() {
	register("36", scenario_36)
	register("37", scenario_37)
	register("38", scenario_38)
	register("39", scenario_39)
	register("40", scenario_40)
	register("41", scenario_41)
	register("42", scenario_42)
	register("43", scenario_43)
	register("44", scenario_44)
	register("45", scenario_45)
}

// 36: stopping a timer does not close its channel. The timer is stopped
// before the waiter runs, so no pending timer refers to the channel; only
// the waiter's stack does: 1 leak.
func s36_waiter(t *time.Timer) {
	<-t.C
}

func scenario_36() {
	t := time.NewTimer(time.Hour)
	go s36_waiter(t)
	t.Stop()
}

// 37: parent and child contexts, neither cancelled. The parent lists the
// child (its children map), the child points to its parent, and only the
// monitor's stack points to either: 1 leak, in a select. (The cancel
// functions, which Go returns and vet wants kept, live in the monitor's
// struct beside the context; they point to the same two contexts.)
type s37_monitor_t struct {
	ctx          context.Context
	cancel       context.CancelFunc
	cancelParent context.CancelFunc
	updates      chan int
}

func s37_monitor(m *s37_monitor_t) {
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.updates:
		}
	}
}

func scenario_37() {
	m := new(s37_monitor_t)
	var parent context.Context
	parent, m.cancelParent = context.WithCancel(context.Background())
	m.ctx, m.cancel = context.WithCancel(parent)
	m.updates = make(chan int)
	go s37_monitor(m)
}

// 38: gen -> square -> goroutine 1, which reads one value and returns.
// Ten values, two unbuffered hops: square ends holding a value it cannot
// send, gen a value it cannot send, whatever the order: 2 leaks.
type s38_stage struct {
	in, out chan int
}

func s38_gen(c chan int) {
	for i := 1; i <= 10; i++ {
		c <- i
	}
	close(c)
}

func s38_square(s *s38_stage) {
	for v := range s.in {
		s.out <- v * v
	}
	close(s.out)
}

func scenario_38() {
	s := &s38_stage{in: make(chan int), out: make(chan int)}
	go s38_gen(s.in)
	go s38_square(s)
	<-s.out
}

// 39: 10 jobs queued (buffer 10) and closed, 2 results taken from the
// unbuffered results channel: 8 results for 3 workers, so each worker ends
// blocked sending one: 3 leaks.
type s39_pool struct {
	jobs, results chan int
}

func s39_worker(p *s39_pool) {
	for job := range p.jobs {
		p.results <- job * 2
	}
}

func scenario_39() {
	p := &s39_pool{jobs: make(chan int, 10), results: make(chan int)}
	for i := 0; i < 3; i++ {
		go s39_worker(p)
	}
	for i := 0; i < 10; i++ {
		p.jobs <- i
	}
	close(p.jobs)
	<-p.results
	<-p.results
}

// 40: the holder sends with the mutex held, and the reader is gone; the
// two waiters queue on the mutex: 3 leaks in two groups.
//
// The count rests on the holder locking first, which leash's FIFO run
// queue guarantees and Go's scheduler does not: Go runs the goroutine
// started last first (runnext), so the second waiter would lock, unlock
// and exit before the holder runs, and only one waiter would be left. The
// twin therefore lets the holder reach its send before starting the
// waiters: the same state as the C scenario reaches.
type s40_shared struct {
	mu sync.Mutex
	ch chan int
}

func s40_holder(s *s40_shared) {
	s.mu.Lock()
	s.ch <- 1
	s.mu.Unlock()
}

func s40_waiter(s *s40_shared) {
	s.mu.Lock()
	s.mu.Unlock()
}

func scenario_40() {
	s := &s40_shared{ch: make(chan int)}
	go s40_holder(s)
	settle(0)
	go s40_waiter(s)
	go s40_waiter(s)
}

// 41: the producer signals before the consumer waits (goroutine 1 starts
// the consumer only once sent is closed), and the consumer waits without
// checking ready: the signal is lost, 1 leak.
type s41_state struct {
	mu    sync.Mutex
	cond  sync.Cond
	ready int
	sent  chan struct{}
}

func s41_producer(s *s41_state) {
	s.mu.Lock()
	s.ready = 1
	s.cond.Signal()
	s.mu.Unlock()
	close(s.sent)
}

func s41_consumer(s *s41_state) {
	s.mu.Lock()
	s.cond.Wait() // should loop on ready == 0
	s.mu.Unlock()
}

func scenario_41() {
	s := &s41_state{sent: make(chan struct{})}
	s.cond.L = &s.mu
	go s41_producer(s)
	<-s.sent
	go s41_consumer(s)
}

// 42: the barrier makes a hold m1 and b hold m2 before either takes its
// second lock; a then waits for m2, b for m1: 2 leaks.
type s42_locks struct {
	m1, m2  sync.Mutex
	barrier sync.WaitGroup
}

func s42_a(l *s42_locks) {
	l.m1.Lock()
	l.barrier.Done()
	l.barrier.Wait()
	l.m2.Lock()
	l.m2.Unlock()
	l.m1.Unlock()
}

func s42_b(l *s42_locks) {
	l.m2.Lock()
	l.barrier.Done()
	l.barrier.Wait()
	l.m1.Lock()
	l.m1.Unlock()
	l.m2.Unlock()
}

func scenario_42() {
	l := new(s42_locks)
	l.barrier.Add(2)
	go s42_a(l)
	go s42_b(l)
}

// 43: the owner's mutex is the owner's local (in Go it escapes to the
// heap, referenced from the owner's stack and the waiters'); the owner
// holds it and receives from a nil channel, leaked by definition, so its
// stack is never a root. The 5 waiters point to it and to nothing live: 6
// leaks.
type s43_conn struct {
	ready chan int // never set
}

func s43_waiter(mu *sync.Mutex) {
	mu.Lock()
	mu.Unlock()
}

func s43_owner() {
	var mu sync.Mutex
	var conn s43_conn
	mu.Lock()
	for i := 0; i < 5; i++ {
		go s43_waiter(&mu)
	}
	<-conn.ready
	mu.Unlock()
}

func scenario_43() { go s43_owner() }

// 44: a semaphore of 2 slots; every worker acquires and fails without
// releasing. The first two fill the slots, the other three block on the
// acquiring send: 3 leaks.
func s44_worker(sem chan struct{}) {
	sem <- struct{}{}
	// error path: return without <-sem
}

func scenario_44() {
	sem := make(chan struct{}, 2)
	for i := 0; i < 5; i++ {
		go s44_worker(sem)
	}
}

// 45, control: a pending timer will send on the first channel, and will
// cancel the context whose done channel the second waits on: neither is
// leaked, though no goroutine refers to either. (The deferred cancel is
// what vet asks for; it runs only after the receive, that is never.)
func s45_after() {
	<-time.After(time.Hour)
}

func s45_deadline() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	<-ctx.Done()
}

func scenario_45() {
	go s45_after()
	go s45_deadline()
}
