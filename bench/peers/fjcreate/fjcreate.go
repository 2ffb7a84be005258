// fork-join creation (Savina): create N goroutines and send each one
// message on its own channel; each does a small computation, reports and
// exits.
// Usage: fjcreate N
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
)

// Savina's performComputation(37.2): sin(theta)^2, checked so it is not dead.
func compute(theta float64) {
	s := math.Sin(theta)
	if s*s <= 0 {
		panic("unrealistic")
	}
}

func worker(inbox <-chan int, done chan<- int) {
	<-inbox
	compute(37.2)
	done <- 1
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	done := make(chan int, 1024)
	for i := 0; i < n; i++ {
		inbox := make(chan int, 1)
		go worker(inbox, done)
		inbox <- 1
	}
	total := 0
	for i := 0; i < n; i++ {
		total += <-done
	}
	fmt.Printf("forkjoin-create N=%d done=%d\n", n, total)
}
