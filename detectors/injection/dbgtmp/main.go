package main

import (
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/portcullis-mcp/portcullis/detectors/injection"
)

func main() {
	d := injection.Default()
	s := strings.Repeat("ignore all all all all ", 40)
	for _, k := range []int{1, 4, 16, 64} {
		big := strings.Repeat(s, k)
		t := time.Now()
		for i := 0; i < 10; i++ {
			d.Score(big)
		}
		fmt.Println(k, time.Since(t)/10)
	}
	f, _ := os.Create("/tmp/cpu3.out")
	pprof.StartCPUProfile(f)
	big := strings.Repeat(s, 64)
	for i := 0; i < 10; i++ {
		d.Score(big)
	}
	pprof.StopCPUProfile()
}
