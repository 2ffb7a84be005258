// fork-join throughput (Savina): A worker goroutines; main sends N messages
// to each (round-robin); a worker does a small computation per message and,
// after N, reports to main. Mailboxes are buffered channels (1024).
// Usage: fjthroughput A N
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

func worker(inbox <-chan int, n int, done chan<- int) {
	for k := 0; k < n; k++ {
		<-inbox
		compute(37.2)
	}
	done <- n
}

func main() {
	a, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	done := make(chan int)
	inboxes := make([]chan int, a)
	for i := range inboxes {
		inboxes[i] = make(chan int, 1024)
		go worker(inboxes[i], n, done)
	}
	for k := 0; k < n; k++ {
		for _, inbox := range inboxes {
			inbox <- k
		}
	}
	msgs := 0
	for i := 0; i < a; i++ {
		msgs += <-done
	}
	fmt.Printf("forkjoin-throughput A=%d N=%d msgs=%d\n", a, n, msgs)
}
