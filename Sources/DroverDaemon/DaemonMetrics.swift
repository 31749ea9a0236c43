import DroverWire
import Prometheus

/// `GET /metrics`: Prometheus text. Gauges are refreshed from the supervisor at scrape time,
/// so nothing costs anything between scrapes.
final class DaemonMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()

    func render(_ supervisor: Supervisor) async -> String {
        let jobs = await supervisor.status()
        registry.makeGauge(name: "drover_jobs", help: "Jobs in the desired state").set(Double(jobs.count))
        var byState: [String: Int] = [:]
        for job in jobs {
            for replica in job.replicas {
                byState[replica.state, default: 0] += 1
                let labels = [("job", job.name), ("replica", String(replica.index))]
                registry.makeGauge(name: "drover_replica_restarts", labels: labels, help: "Restarts of a replica by policy")
                    .set(Double(replica.restarts))
                if let cpu = replica.cpuSeconds {
                    registry.makeGauge(name: "drover_replica_cpu_seconds", labels: labels, help: "CPU time of a replica's cgroup").set(cpu)
                }
                if let memory = replica.memoryBytes {
                    registry.makeGauge(name: "drover_replica_memory_bytes", labels: labels, help: "memory.current of a replica's cgroup")
                        .set(Double(memory))
                }
            }
        }
        for state in ["pending", "starting", "running", "ready", "lameduck", "stopping", "crashlooping", "exited", "succeeded", "failed"] {
            registry.makeGauge(name: "drover_replicas", labels: [("state", state)], help: "Replicas by state")
                .set(Double(byState[state] ?? 0))
        }
        return registry.emitToString()
    }
}
