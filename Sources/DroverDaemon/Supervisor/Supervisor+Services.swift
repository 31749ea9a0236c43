import DroverCore
import DroverHealth
import DroverLinux
import DroverWire
import Foundation
import Logging

/// The service proxies follow the jobs' `service:` ports.
extension Supervisor {
    /// Starts and stops service proxies to match the jobs (off the actor: binding is async).
    func syncProxies() {
        let services = jobs.compactMapValues { $0.spec.service?.port }
        guard services != proxiedServices else { return }
        proxiedServices = services
        Task { [proxies, logger] in
            let (failures, started) = await proxies.reconcile(services)
            for failure in failures {
                event(subject: failure.job, kind: "service-failed", message: failure.message)
                logger.error("\(failure.job): \(failure.message)")
            }
            for service in started {
                logger.info("\(service.job): service port open, \(service.path)")
            }
        }
    }
}
