import DroverConfig
import DroverCore
import Testing

/// The error lines a user would see for these files, or [] when they parse.
func errorLines(_ files: [(path: String, text: String)]) -> [String] {
    switch JobsConfig.parse(files.map { JobsFile(path: $0.path, text: $0.text) }) {
    case .success: return []
    case .failure(let errors): return errors.errors.map(\.description)
    }
}

/// The jobs these files declare; records an issue (with every error) when they don't parse.
func parsedJobs(_ files: [(path: String, text: String)], sourceLocation: SourceLocation = #_sourceLocation) -> [JobSpec] {
    switch JobsConfig.parse(files.map { JobsFile(path: $0.path, text: $0.text) }) {
    case .success(let jobs): return jobs
    case .failure(let errors):
        Issue.record("unexpected errors:\n\(errors)", sourceLocation: sourceLocation)
        return []
    }
}

func parsedJobs(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [JobSpec] {
    parsedJobs([("jobs.yaml", text)], sourceLocation: sourceLocation)
}

/// SPEC §1's example, verbatim.
let specExample = """
    jobs:
      web:
        kind: serving             # serving: runs forever | batch: runs to completion
        replicas: 3               # cattle: web/0, web/1, web/2 (index = replica number)
        priority: production      # production | batch | best-effort
        command: ["/usr/bin/python3", "-m", "http.server", "${PORT_HTTP}"]
        env: {GREETING: hello}
        user: nobody              # default nobody; root only when written explicitly
        workdir: /
        ports: [http]             # one host port per name, in env PORT_HTTP
        resources:
          cpu: 0.5                # cores: cpu.max quota, and the admission request
          memory: 256Mi           # memory.max, and the admission request
          pids: 64                # pids.max
        restart:
          policy: always          # always | on-failure | never
          backoff: {initial: 100ms, max: 60s, multiplier: 2, jitter: 0.1, reset_after: 5m}
          max_failures: 6         # batch: give up on an index after this many failures
        lameduck: {signal: SIGTERM, grace: 30s}
        health:
          ready: {http: /healthz, port: http, period: 1s, timeout: 1s, failures: 3}
          live:  {tcp: http, period: 5s, timeout: 1s, failures: 3}   # or exec: [cmd, args]
        service: {port: 8080}     # optional stable port, proxied to ready replicas
      crunch:
        kind: batch
        replicas: 4               # indices 0..3, each must succeed once
        command: ["/usr/local/bin/crunch", "--shard=${DROVER_REPLICA}", "--of=${DROVER_REPLICAS}"]

    """
