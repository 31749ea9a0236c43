import Glibc

/// The names in a directory, without `.` and `..`, in the order the file system gives them.
public func directoryEntries(atPath path: String) throws(SystemError) -> [String] {
    guard let directory = opendir(path) else { throw SystemError("opendir", path) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}
