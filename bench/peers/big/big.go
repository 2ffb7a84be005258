// big (Savina): A goroutines; each sends N pings, one at a time, to random
// other goroutines, which answer each with a pong. Targets come from a
// per-goroutine LCG seeded with its id (1..A), the same in every language,
// so the per-goroutine ping counts and the checksum are fixed. Mailboxes
// are buffered channels of A+2: each sender has at most one ping in flight,
// so a send never blocks.
// Usage: big A N
//
//	(prints "big A=.. N=.. pings=.. checksum=..", checksum = sum id*received)
package main

import (
	"fmt"
	"os"
	"strconv"
)

const (
	ping = iota
	pong
	stop
)

type msg struct {
	kind int
	from int // sender's index, for ping
}

type report struct{ id, received int }

// The LCG: state' = (state * 1103515245 + 12345) mod 2^31.
func nextRng(s int64) int64 { return (s*1103515245 + 12345) % 2147483648 }

// A random index other than me (0-based), from the state's high bits.
func pick(rng int64, me, a int) int {
	t := int(rng / 65536 % int64(a))
	if t == me {
		return (t + 1) % a
	}
	return t
}

func actor(id, a, n int, boxes []chan msg, done chan<- int, reports chan<- report) {
	me := id - 1
	inbox := boxes[me]
	rng := nextRng(int64(id))
	boxes[pick(rng, me, a)] <- msg{ping, me}
	sent, received := 1, 0
	for m := range inbox {
		switch m.kind {
		case ping:
			boxes[m.from] <- msg{kind: pong}
			received++
		case pong:
			if sent == n {
				done <- 1
			} else {
				rng = nextRng(rng)
				boxes[pick(rng, me, a)] <- msg{ping, me}
				sent++
			}
		case stop:
			reports <- report{id, received}
			return
		}
	}
}

func main() {
	a, _ := strconv.Atoi(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	boxes := make([]chan msg, a)
	for i := range boxes {
		boxes[i] = make(chan msg, a+2)
	}
	done := make(chan int)
	reports := make(chan report)
	for i := 0; i < a; i++ {
		go actor(i+1, a, n, boxes, done, reports)
	}
	for i := 0; i < a; i++ {
		<-done
	}
	for _, box := range boxes {
		box <- msg{kind: stop}
	}
	pings, checksum := 0, 0
	for i := 0; i < a; i++ {
		r := <-reports
		pings += r.received
		checksum += r.id * r.received
	}
	fmt.Printf("big A=%d N=%d pings=%d checksum=%d\n", a, n, pings, checksum)
}
