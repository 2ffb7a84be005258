// loadgen: N concurrent TCP connections to an echo server on 127.0.0.1,
// each sending M lines one at a time and waiting for each echo. Prints
// lines per second and the median and 99th-percentile round trip.
//
//	go run loadgen.go PORT N M
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

func main() {
	port := os.Args[1]
	n, _ := strconv.Atoi(os.Args[2])
	m, _ := strconv.Atoi(os.Args[3])
	var wg sync.WaitGroup
	latencies := make([][]time.Duration, n)
	failures := make([]error, n)
	ready := make(chan struct{})
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", "127.0.0.1:"+port, 30*time.Second)
			if err != nil {
				failures[i] = err
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(120 * time.Second))
			reader := bufio.NewReader(conn)
			<-ready
			own := make([]time.Duration, 0, m)
			for j := 0; j < m; j++ {
				line := fmt.Sprintf("connection %d line %d\n", i, j)
				t := time.Now()
				if _, err := conn.Write([]byte(line)); err != nil {
					failures[i] = err
					return
				}
				got, err := reader.ReadString('\n')
				if err != nil || got != line {
					failures[i] = fmt.Errorf("bad echo %q: %v", got, err)
					return
				}
				own = append(own, time.Since(t))
			}
			latencies[i] = own
		}(i)
	}
	// Every connection is made before the clock starts.
	time.Sleep(200 * time.Millisecond)
	start = time.Now()
	close(ready)
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	failed := 0
	for i := range latencies {
		if failures[i] != nil {
			failed++
			if failed == 1 {
				fmt.Fprintln(os.Stderr, "first failure:", failures[i])
			}
		}
		all = append(all, latencies[i]...)
	}
	sort.Slice(all, func(a, b int) bool { return all[a] < all[b] })
	p := func(q float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000
	}
	fmt.Printf("lines %d failed_connections %d seconds %.3f lines_per_second %.0f p50_ms %.2f p99_ms %.2f\n",
		len(all), failed, elapsed.Seconds(), float64(len(all))/elapsed.Seconds(), p(0.50), p(0.99))
}
