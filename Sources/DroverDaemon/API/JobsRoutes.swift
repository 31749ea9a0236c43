import DroverCore
import DroverWire
import Hummingbird

/// Jobs: apply the jobs files, list and read jobs, stop, start and delete one.
extension APIServer {
    func addJobsRoutes(to router: APIRouter) {
        mutate(Routes.apply, in: router) { body, _ in
            let apply = try RequestParsing.decode(ApplyRequest.self, body)
            // No file is not "no jobs": it would delete every job.
            guard !apply.files.isEmpty else {
                throw APIError(.badRequest, ErrorBody(error: "invalid config", detail: "no jobs file given"))
            }
            switch parse(apply.files) {
            case .failure(let rejection):
                throw APIError(.badRequest, ErrorBody(error: "invalid config",
                                                      detail: rejection.errors.joined(separator: "\n"),
                                                      errors: rejection.errors))
            case .success(let specs):
                if apply.prune, apply.source == nil {
                    throw APIError(.badRequest, ErrorBody(error: "bad request", detail: "prune needs a source: the jobs it may delete are those of the same source"))
                }
                let scope = Supervisor.ApplyScope(source: apply.source, prune: apply.prune, pruneAll: apply.pruneAll)
                let result = try await supervisor.apply(specs, scope: scope, dryRun: apply.dryRun)
                return ApplyResponse(created: result.created, changed: result.changed, unchanged: result.unchanged,
                                     deleted: result.deleted, dryRun: apply.dryRun)
            }
        }
        read(Routes.jobs, in: router) { _, _ in
            await supervisor.status()
        }
        read(Routes.job, in: router) { _, context in
            let name = try context.parameters.require("job")
            guard let job = await supervisor.status(job: name).first else {
                throw APIError(.notFound, ErrorBody(error: "not found", detail: "no job named \"\(name)\""))
            }
            return job
        }
        for (route, action) in [(Routes.stopJob, "stop"), (Routes.startJob, "start")] {
            mutate(route, in: router) { _, context in
                let name = try context.parameters.require("job")
                try await supervisor.setStopped(name, action == "stop")
                return ActionResponse(job: name, action: action, message: "job \(name) \(action == "stop" ? "stopped" : "started")")
            }
        }
        mutate(Routes.scaleJob, in: router) { body, context in
            let name = try context.parameters.require("job")
            let request = try RequestParsing.decode(ScaleRequest.self, body)
            guard (0...Limits.replicas).contains(request.replicas) else {
                throw APIError(.badRequest, ErrorBody(error: "bad request", detail: "replicas \(request.replicas): must be 0 to \(Limits.replicas)"))
            }
            let result = try await supervisor.scale(name, replicas: request.replicas)
            return ApplyResponse(created: result.created, changed: result.changed, unchanged: result.unchanged, deleted: result.deleted)
        }
        mutate(Routes.restartJob, in: router) { body, context in
            let name = try context.parameters.require("job")
            let request = body.isEmpty ? RestartRequest() : try RequestParsing.decode(RestartRequest.self, body)
            return EvictResponse(evicted: try await supervisor.restart(name, index: request.index))
        }
        mutate(Routes.reload, in: router) { _, _ in
            guard let config else {
                throw APIError(.conflict, ErrorBody(error: "nothing to reload", detail: "droverd runs without --config: only `drover apply` declares its jobs"))
            }
            do {
                let result = try await config.reload(trigger: "drover reload")
                return ApplyResponse(created: result.created, changed: result.changed, unchanged: result.unchanged, deleted: result.deleted)
            } catch let error as ConfigReloadError {
                throw APIError(.badRequest, ErrorBody(error: "invalid config", detail: error.description, errors: error.problems))
            }
        }
        mutate(Routes.deleteJob, in: router) { _, context in
            let name = try context.parameters.require("job")
            try await supervisor.delete(name)
            return ActionResponse(job: name, action: "delete", message: "job \(name) deleted")
        }
    }
}
