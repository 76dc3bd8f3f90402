// Command ebpf-reporter sends known stack traces through the OpenTelemetry eBPF profiler's own
// OTLP reporter (go.opentelemetry.io/ebpf-profiler/reporter): the requests are what the
// profiler's exporter writes, byte for byte, without loading eBPF programs (which needs
// privileges a test machine may lack). The traces are those a Python 3.11 process yields:
// Python frames by name, interpreter frames as address-only native frames in python3.11's
// mapping with its build id, kernel frames by name; CPU samples and off-CPU waits.
//
// Usage: ebpf-reporter -agent HOST:PORT -tag TAG
// Prints the counts it reported as one JSON line, then exits once they were sent.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/ebpf-profiler/libpf"
	"go.opentelemetry.io/ebpf-profiler/reporter"
	"go.opentelemetry.io/ebpf-profiler/reporter/samples"
)

// The profile types the profiler registers for its on-CPU sampler and off-CPU probe.
var (
	cpuType    = &samples.TypeMetadata{SampleType: "samples", SampleUnit: "count", PeriodType: "cpu", PeriodUnit: "nanoseconds"}
	offCPUType = &samples.TypeMetadata{SampleType: "off_cpu", SampleUnit: "nanoseconds", ReportValues: true}
)

func main() {
	agent := flag.String("agent", "", "OTLP/gRPC receiver, host:port")
	tag := flag.String("tag", "pl", "prefix of the Python function names")
	flag.Parse()
	if err := run(*agent, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "ebpf-reporter:", err)
		os.Exit(1)
	}
}

func run(agent, tag string) error {
	interval := 300 * time.Millisecond
	r, err := reporter.NewOTLP(&reporter.Config{
		Name:                   "opentelemetry-ebpf-profiler",
		Version:                "v0.0.202633",
		CollAgentAddr:          agent,
		DisableTLS:             true,
		MaxRPCMsgSize:          32 << 20,
		SamplesPerSecond:       20,
		MaxGRPCRetries:         5,
		GRPCOperationTimeout:   5 * time.Second,
		GRPCStartupBackoffTime: time.Second,
		GRPCConnectionTimeout:  5 * time.Second,
		ReportInterval:         interval,
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		return err
	}

	python := libpf.NewFrameMapping(libpf.FrameMappingData{
		File: libpf.NewFrameMappingFile(libpf.FrameMappingFileData{
			FileName:   libpf.Intern("python3.11"),
			GnuBuildID: "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2",
		}),
		Start:      0x1000,
		End:        0x300000,
		FileOffset: 0x1000,
	})
	pyFrame := func(name string, line libpf.SourceLineno) *libpf.Frame {
		return &libpf.Frame{Type: libpf.PythonFrame, FunctionName: libpf.Intern(name), SourceFile: libpf.Intern("/srv/hot.py"), SourceLine: line}
	}
	native := func(addr libpf.AddressOrLineno) *libpf.Frame {
		return &libpf.Frame{Type: libpf.NativeFrame, Mapping: python, AddressOrLineno: addr}
	}
	kernel := func(name string) *libpf.Frame {
		return &libpf.Frame{Type: libpf.KernelFrame, FunctionName: libpf.Intern(name)}
	}
	trace := func(frames ...*libpf.Frame) *libpf.Trace {
		t := &libpf.Trace{}
		for _, f := range frames {
			t.Frames.Append(f)
		}
		return t
	}
	// Leaf first, as the profiler reports them.
	hot := trace(pyFrame(tag+"_py_hot", 4), pyFrame(tag+"_py_loop", 9), pyFrame("<module>", 11), native(0x1234), native(0x2468))
	wait := trace(kernel("schedule"), kernel("do_nanosleep"), pyFrame(tag+"_py_wait", 14), pyFrame("<module>", 11), native(0x1234))

	now := func() libpf.UnixTime64 { return libpf.UnixTime64(time.Now().UnixNano()) }
	report := func(t *libpf.Trace, pid libpf.PID, typ *samples.TypeMetadata, value int64) error {
		return r.ReportTraceEvent(t, &samples.TraceEventMeta{
			Comm:           libpf.NewCommFromString("python3.11"),
			ExecutablePath: libpf.Intern("/usr/bin/python3.11"),
			Timestamp:      now(),
			ProfileType:    typ,
			Value:          value,
			PID:            pid,
			TID:            pid,
			CPU:            uint32(pid % 2),
		})
	}
	counts := map[string]int64{"cpu_samples": 0, "off_cpu_nanos": 0}
	for i := 0; i < 30; i++ {
		if err := report(hot, 4242, cpuType, 1); err != nil {
			return err
		}
		counts["cpu_samples"]++
	}
	for i := 0; i < 10; i++ {
		if err := report(hot, 4243, cpuType, 1); err != nil {
			return err
		}
		counts["cpu_samples"]++
	}
	for i := 0; i < 5; i++ {
		if err := report(wait, 4242, offCPUType, 2_000_000); err != nil {
			return err
		}
		counts["off_cpu_nanos"] += 2_000_000
	}
	// The reporter sends what it holds every interval; give it three.
	time.Sleep(3 * interval)
	r.Stop()
	return json.NewEncoder(os.Stdout).Encode(counts)
}
