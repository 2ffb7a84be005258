// counting (Savina): one counter goroutine receives N increment messages,
// then a request for its count, and answers it. Its mailbox is a buffered
// channel (a send blocks only while 1024 messages are queued).
// Usage: counting N
package main

import (
	"fmt"
	"os"
	"strconv"
)

type msg struct {
	get   bool
	reply chan int
}

func counter(inbox <-chan msg) {
	count := 0
	for m := range inbox {
		if m.get {
			m.reply <- count
			return
		}
		count++
	}
}

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	inbox := make(chan msg, 1024)
	go counter(inbox)
	for i := 0; i < n; i++ {
		inbox <- msg{}
	}
	reply := make(chan int)
	inbox <- msg{get: true, reply: reply}
	fmt.Printf("counting N=%d count=%d\n", n, <-reply)
}
