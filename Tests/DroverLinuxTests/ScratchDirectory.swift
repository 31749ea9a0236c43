import DroverLinux
import Glibc

/// A new empty directory under /tmp (`/tmp/<prefix>-XXXXXX`) for one test; the test removes it.
func makeScratchDirectory(_ prefix: String) throws -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    guard mkdtemp(&template) != nil else { throw SystemError("mkdtemp") }
    return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
