// A three-deep chain whose hot leaf Go compiles without a frame (no locals, no calls):
// main.main -> main.gxOuter -> main.gxMiddle -> main.gxHot.
package main

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

//go:noinline
func gxHot(x uint64) uint64 {
	for i := 0; i < 4000; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	return x
}

//go:noinline
func gxMiddle(x uint64) uint64 {
	return gxHot(x) ^ (x >> 7)
}

//go:noinline
func gxOuter(x uint64) uint64 {
	return gxMiddle(x) + (x << 3)
}

func main() {
	seconds := 10.0
	if len(os.Args) > 1 {
		seconds, _ = strconv.ParseFloat(os.Args[1], 64)
	}
	end := time.Now().Add(time.Duration(seconds * float64(time.Second)))
	s := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 100; i++ {
			s = gxOuter(s)
		}
	}
	fmt.Println(s)
}
