package main

import (
	"runtime"
)

func init() {
	register("18", scenario_18)
	register("18b", scenario_18b)
	register("19", scenario_19)
	register("20", scenario_20)
	register("20b", scenario_20b)
	register("21", scenario_21)
	register("22", scenario_22)
	register("22b", scenario_22b)
	register("23", scenario_23)
}

// 18: the producer sends 5 jobs and returns without closing; the 3 workers
// take them and then wait in their range loop for ever. 18b: with no
// worker the producer blocks on its first send.
func s18_worker(jobs chan int) {
	for range jobs {
	}
}

func s18_producer(jobs chan int) {
	for i := 0; i < 5; i++ {
		jobs <- i
	}
	// The missing close(jobs).
}

func scenario_18() {
	jobs := make(chan int)
	go s18_producer(jobs)
	for i := 0; i < 3; i++ {
		go s18_worker(jobs)
	}
}

func s18b_producer(jobs chan int) {
	for i := 0; i < 5; i++ {
		jobs <- i
	}
}

func scenario_18b() { go s18b_producer(make(chan int)) }

// 19: start returns the component, the caller drops it without stop: the
// loop's select waits on two channels only the loop's stack refers to.
type s19_component struct {
	req  chan int
	done chan struct{}
}

func s19_loop(c *s19_component) {
	for {
		select {
		case <-c.req:
		case <-c.done:
			return
		}
	}
}

//go:noinline
func s19_start() *s19_component {
	c := &s19_component{req: make(chan int), done: make(chan struct{})}
	go s19_loop(c)
	return c
}

func scenario_19() { _ = s19_start() }

// 20: goroutine 1 receives once. The worker's first send meets the waiting
// receiver; the second (the missing return) blocks for ever. 20b: with a
// buffer of 1 the second send is buffered and the worker returns.
func s20_worker(c chan int) {
	c <- -1 // the error
	c <- 42 // the result, after the missing return
}

func scenario_20() {
	c := make(chan int)
	go s20_worker(c)
	<-c
}

func s20b_worker(c chan int) {
	c <- -1
	c <- 42
}

func scenario_20b() {
	c := make(chan int, 1)
	go s20b_worker(c)
	<-c
}

// 21: Go 1.26's release-notes example. Every item fails, so the collector
// returns after its first receive whatever the order: 9 workers leak.
type s21_result struct {
	value int
	err   int
}

type s21_item struct {
	out   chan s21_result
	index int
}

func s21_worker(it *s21_item) {
	it.out <- s21_result{value: it.index, err: 1}
}

//go:noinline
func s21_process(n int) int {
	ch := make(chan s21_result)
	for i := 0; i < n; i++ {
		go s21_worker(&s21_item{out: ch, index: i})
	}
	for i := 0; i < n; i++ {
		if r := <-ch; r.err != 0 {
			return -1
		}
	}
	return 0
}

func scenario_21() { _ = s21_process(10) }

// 22: first response wins. 5 senders, one receive: 4 leaks; the caller
// returns. 22b: no items, the caller's receive never completes: 1 leak.
func s22_sender(ch chan int) {
	ch <- 1
}

//go:noinline
func s22_first(n int) int {
	ch := make(chan int)
	for i := 0; i < n; i++ {
		go s22_sender(ch)
	}
	return <-ch
}

func s22_caller() { _ = s22_first(5) }

func scenario_22() { go s22_caller() }

func s22b_caller() { _ = s22_first(0) }

func scenario_22b() { go s22b_caller() }

// 23: the worker just started has not run when the caller selects, so
// only the closed done channel is ready and the select takes it, every
// one of the 100 calls: 100 workers block on send. That needs one P: with
// more, another P may run the worker first and the select may take its
// result (SCENARIOS.md asks for GOMAXPROCS(1) here).
func s23_worker(res chan int) {
	res <- 1
}

//go:noinline
func s23_call(done chan struct{}) int {
	res := make(chan int)
	go s23_worker(res)
	select {
	case v := <-res:
		return v
	case <-done:
		return -1
	}
}

func scenario_23() {
	runtime.GOMAXPROCS(1)
	done := make(chan struct{})
	close(done)
	for i := 0; i < 100; i++ {
		_ = s23_call(done)
	}
}
