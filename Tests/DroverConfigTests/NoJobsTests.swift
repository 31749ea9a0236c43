import DroverConfig
import Testing

/// A file that declares nothing: applied, it would delete every job without a word (issue 12).
/// Only `jobs: {}` says "no jobs" on purpose.
let noJobsInputs: [BadInput] = [
    BadInput("an empty file", "", [
        "web.yaml: no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
    BadInput("a file of blank lines", "\n\n  \n", [
        "web.yaml: no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
    BadInput("a file of comments (every job commented out)", "# jobs:\n#   web:\n#     command: [x]\n", [
        "web.yaml: no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
    BadInput("a file of empty documents", "---\n# nothing\n---\n~\n", [
        "web.yaml: no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
    BadInput("jobs: with nothing under it", "jobs:\n#  web:\n#    command: [x]\n", [
        "web.yaml: jobs: no jobs: nothing is written under jobs (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
    BadInput("jobs: null in a later document", "---\n---\njobs: null\n", [
        "web.yaml: jobs: no jobs: nothing is written under jobs (write jobs: {} to declare no jobs on purpose) (line 3, col 1)",
    ]),
    BadInput("a document that is an empty mapping", "jobs:\n  web:\n    command: [x]\n---\n{}\n", [
        "web.yaml: no jobs: the document has no jobs key (write jobs: {} to declare no jobs on purpose) (line 5, col 1)",
    ]),
    BadInput("an empty file among others", files: [
        .init(path: "a.yaml", text: "jobs:\n  web:\n    command: [x]\n"),
        .init(path: "b.yaml", text: "# emptied by mistake\n"),
    ], [
        "b.yaml: no jobs: the file is empty or holds only comments (write jobs: {} to declare no jobs on purpose) (line 1, col 1)",
    ]),
]

@Suite struct NoJobs {
    @Test(arguments: noJobsInputs)
    func refused(input: BadInput) {
        #expect(errorLines(input.files.map { ($0.path, $0.text) }) == input.errors)
    }
}
