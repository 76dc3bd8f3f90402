/** What to check when a slot is open but holds no samples. */
export function EmptyProfile() {
  return (
    <div className="empty-state" data-testid="empty-profile">
      <h3>No profile samples yet</h3>
      <p className="muted">Profiling is enabled. Samples for this workload are kept from now on; nothing before that was buffered.</p>
      <ul>
        <li>
          Is the node sampler running where this workload runs? (<code>pilotlight node</code>, or the DaemonSet with <code>profiling.enabled=true</code>)
        </li>
        <li>Does the sampler's exporter (or the gateway's) point at this UI's OTLP receiver (gRPC 4317, HTTP 4318)?</li>
        <li>Is the workload using CPU? An idle process produces no samples.</li>
        <li>
          Does the workload's name match? The sampler must resolve it to the same key as this source (<code>namespace/Kind/name</code>).
        </li>
      </ul>
    </div>
  );
}
