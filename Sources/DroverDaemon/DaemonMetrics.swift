import DroverWire
import Prometheus

/// `GET /metrics`: Prometheus text. Gauges are refreshed from the supervisor at scrape time,
/// so nothing costs anything between scrapes.
final class DaemonMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let proxies: ServiceProxies

    init(proxies: ServiceProxies) {
        self.proxies = proxies
    }

    /// `drover_<name>`, help text, labels.
    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "drover", metricName: name, unitName: "", helpText: help),
                           labels: labels)
    }

    func render(_ supervisor: Supervisor) async -> String {
        let jobs = await supervisor.status()
        gauge("jobs", "Jobs in the desired state").set(Double(jobs.count))
        var byState: [String: Int] = [:]
        for job in jobs {
            for replica in job.replicas {
                byState[replica.state, default: 0] += 1
                let labels = [("job", job.name), ("replica", String(replica.index))]
                gauge("replica_restarts", "Restarts of a replica by policy", labels).set(Double(replica.restarts))
                if let cpu = replica.cpuSeconds {
                    gauge("replica_cpu_seconds", "CPU time of a replica's cgroup", labels).set(cpu)
                }
                if let memory = replica.memoryBytes {
                    gauge("replica_memory_bytes", "memory.current of a replica's cgroup", labels).set(Double(memory))
                }
            }
        }
        for state in ["pending", "starting", "running", "ready", "lameduck", "stopping", "crashlooping", "exited", "succeeded", "failed"] {
            gauge("replicas", "Replicas by state", [("state", state)]).set(Double(byState[state] ?? 0))
        }
        for service in proxies.snapshot() {
            let help = "Connections to a job's service port: steered by the kernel to a replica, or relayed by droverd"
            gauge("service_connections", help, [("job", service.job), ("path", "steered")]).set(Double(service.stats.steered))
            gauge("service_connections", help, [("job", service.job), ("path", "relayed")]).set(Double(service.stats.forwarded))
            gauge("service_connections_failed", "Service connections no replica could take", [("job", service.job)])
                .set(Double(service.stats.failed))
            gauge("service_steering", "1 while new service connections are steered in the kernel, 0 while relayed",
                  [("job", service.job)]).set(service.steering ? 1.0 : 0.0)
        }
        return registry.emitToString()
    }
}
