import DroverCore
import Glibc

/// drover's subtree of the cgroup v2 hierarchy: `<own cgroup>/drover`, or `/drover` when
/// started in the root cgroup. Sandboxes are leaves under it. Controllers are enabled top-down
/// (a controller reaches a child only through its parent's cgroup.subtree_control); where a
/// parent holds processes, the no-internal-processes rule forbids that, and the controllers
/// stay unavailable: limits then report "not enforced".
public struct CgroupTree: Sendable {
    public static let wantedControllers = ["cpu", "memory", "pids"]

    public let hierarchy: CgroupHierarchy
    /// Absolute path of drover's tree.
    public let root: String
    /// Controllers its leaves get.
    public let controllers: Set<String>

    /// `delegated`: this process owns its cgroup (a systemd unit with `Delegate=yes`): it moves
    /// itself into a leaf of its own (`<cgroup>/supervisor`) so that its cgroup holds no
    /// process and can pass controllers down to the replicas.
    public static func prepare(hierarchy: CgroupHierarchy, name: String = "drover", delegated: Bool = false) throws(CgroupError) -> CgroupTree {
        let base = hierarchy.ownPath == "/" ? hierarchy.mountPoint : hierarchy.mountPoint + hierarchy.ownPath
        let root = base + "/" + name
        if delegated && hierarchy.ownPath != "/" {
            let supervisor = base + "/supervisor"
            if mkdir(supervisor, 0o755) != 0 && errno != EEXIST { throw .system(SystemError("mkdir", supervisor)) }
            do { try Files.write(supervisor + "/cgroup.procs", "0") } catch { throw .system(error) }
        }
        if mkdir(root, 0o755) != 0 && errno != EEXIST { throw .system(SystemError("mkdir", root)) }
        enable(wantedControllers, in: base)
        enable(wantedControllers, in: root)
        let enabled = (try? Files.read(root + "/cgroup.subtree_control")) ?? ""
        return CgroupTree(hierarchy: hierarchy, root: root, controllers: Set(enabled.split(whereSeparator: \.isWhitespace).map(String.init)))
    }

    /// Detects the hierarchy and prepares the tree in one step.
    public static func prepare(name: String = "drover", delegated: Bool = false) throws(CgroupError) -> CgroupTree {
        var hierarchy = try CgroupHierarchy.detect()
        if delegated, hierarchy.ownPath.hasSuffix("/supervisor") {
            // Already moved by an earlier start of this process's unit: the tree is its parent's.
            hierarchy.ownPath = String(hierarchy.ownPath.dropLast("/supervisor".count))
            if hierarchy.ownPath.isEmpty { hierarchy.ownPath = "/" }
        }
        return try prepare(hierarchy: hierarchy, name: name, delegated: delegated)
    }

    /// Enables what the cgroup offers of `wanted`; one write per controller, so that one the
    /// kernel refuses does not take the others down with it.
    private static func enable(_ wanted: [String], in cgroup: String) {
        let offered = ((try? Files.read(cgroup + "/cgroup.controllers")) ?? "").split(whereSeparator: \.isWhitespace)
        let enabled = ((try? Files.read(cgroup + "/cgroup.subtree_control")) ?? "").split(whereSeparator: \.isWhitespace)
        for controller in wanted where offered.contains(Substring(controller)) && !enabled.contains(Substring(controller)) {
            try? Files.write(cgroup + "/cgroup.subtree_control", "+" + controller)
        }
    }

    /// Why a controller is missing, with the fix, for warnings and errors.
    public func whyMissing(_ controller: String) -> String {
        let base = hierarchy.ownPath == "/" ? hierarchy.mountPoint : hierarchy.mountPoint + hierarchy.ownPath
        let offered = ((try? Files.read(base + "/cgroup.controllers")) ?? "").split(whereSeparator: \.isWhitespace)
        if hierarchy.mountPoint.hasSuffix("/unified") && !offered.contains(Substring(controller)) {
            return "cgroup v2 controller \"\(controller)\" is not available: this host runs cgroups in hybrid mode and \"\(controller)\" is bound to cgroup v1; boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2"
        }
        if !offered.contains(Substring(controller)) {
            return "cgroup v2 controller \"\(controller)\" is not delegated to \(base); run drover in a cgroup that has it (systemd: Delegate=yes)"
        }
        return "cgroup v2 controller \"\(controller)\" could not be enabled below \(base) (a cgroup with processes cannot pass controllers on); run drover in a cgroup of its own (systemd: Delegate=yes)"
    }
}
