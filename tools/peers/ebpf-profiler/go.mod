// Pins the OpenTelemetry eBPF profiler for scripts/peers.sh, which builds its main package from
// here (`go install module@version` refuses it: the module proxy lists no versions of it).
module pilotlight.local/peers/ebpf-profiler

go 1.25.0

require go.opentelemetry.io/ebpf-profiler v0.0.202633
