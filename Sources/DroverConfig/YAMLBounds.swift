import DroverCore
// libyaml itself, as Yams builds it: Yams resolves aliases only while composing, and by then a
// "billion laughs" file has cost its gigabytes (or, as a mapping key, hours of hashing).
internal import CYaml

/// Refuses, before Yams composes anything, YAML that would expand past `Limits.yamlNodes`
/// nodes in one document (or `Limits.yamlNodesInAll` in all the files read together) or nest
/// deeper than `Limits.yamlDepth`, counting each alias as every node it stands for each time
/// it is used (merge keys are aliases too). One pass over
/// libyaml's events, remembering each anchor's size and height: time and memory follow the
/// text, not what it expands to.
enum YAMLBounds {
    /// Where the text first goes past a limit, and what to say; nil when it stays within them
    /// (or has a syntax error, which the composer reports as it does any other). `remaining`:
    /// the nodes the files read together may still produce; what this text produces is taken
    /// from it.
    static func check(_ text: String, remaining: inout Int) -> (message: String, position: Position)? {
        let utf8 = Array(text.utf8)
        return utf8.withUnsafeBufferPointer { buffer in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            // As Yams sets it up, so that both read the same events.
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var counter = Counter(remaining: remaining)
            defer { remaining = counter.remaining }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    // libyaml's own limit (1000 levels) can trip first: its scanner reads ahead
                    // through flow collections (`[[[[...`) before their events come out.
                    guard let problem = parser.problem, String(cString: problem).contains("yaml_set_max_nest_level") else {
                        return nil
                    }
                    let mark = parser.problem_mark
                    return (Counter.tooDeep(alias: false), Position(line: Int(mark.line) + 1, column: Int(mark.column) + 1))
                }
                defer { yaml_event_delete(&event) }
                if event.type == YAML_STREAM_END_EVENT { return nil }
                if let problem = counter.count(event) {
                    let position = Position(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1)
                    return (problem, position)
                }
            }
        }
    }

    /// Nodes and depth so far; anchors live as long as the stream, as they do in Yams.
    private struct Counter {
        struct Open {
            var anchor: String?
            var nodesBefore: Int
            var level: Int
            var deepest: Int
        }

        var anchors: [String: (nodes: Int, height: Int)] = [:]
        var open: [Open] = []
        var nodes = 0
        var remaining: Int

        /// What went past a limit with this event, if anything.
        mutating func count(_ event: yaml_event_t) -> String? {
            let level = open.count + 1
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                nodes = 0
                return nil
            case YAML_SCALAR_EVENT:
                if let anchor = Self.name(event.data.scalar.anchor) { anchors[anchor] = (1, 1) }
                return add(nodes: 1, reaching: level, alias: false)
            case YAML_ALIAS_EVENT:
                // An undefined alias is the composer's error to report.
                let target = Self.name(event.data.alias.anchor).flatMap { anchors[$0] } ?? (1, 1)
                return add(nodes: target.nodes, reaching: level - 1 + target.height, alias: true)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let anchor = Self.name(event.type == YAML_SEQUENCE_START_EVENT
                    ? event.data.sequence_start.anchor : event.data.mapping_start.anchor)
                if let problem = add(nodes: 1, reaching: level, alias: false) { return problem }
                open.append(Open(anchor: anchor, nodesBefore: nodes - 1, level: level, deepest: level))
                return nil
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { return nil }
                if let anchor = closed.anchor {
                    // Registered once complete, as Yams does: an alias inside its own anchor is undefined.
                    anchors[anchor] = (nodes - closed.nodesBefore, closed.deepest - closed.level + 1)
                }
                if !open.isEmpty { open[open.count - 1].deepest = max(open[open.count - 1].deepest, closed.deepest) }
                return nil
            default:
                return nil
            }
        }

        private mutating func add(nodes added: Int, reaching depth: Int, alias: Bool) -> String? {
            nodes += added
            remaining -= added
            if nodes > Limits.yamlNodes {
                return "more than \(Limits.yamlNodes) YAML nodes in one document, counting each alias and merge key "
                    + "as all the nodes it brings in (drover reads at most \(Limits.yamlNodes))"
            }
            if remaining < 0 {
                return "more than \(Limits.yamlNodesInAll) YAML nodes in all the files read together, counting each alias "
                    + "and merge key as all the nodes it brings in (drover reads at most \(Limits.yamlNodesInAll) at once)"
            }
            if depth > Limits.yamlDepth { return Self.tooDeep(alias: alias) }
            if !open.isEmpty { open[open.count - 1].deepest = max(open[open.count - 1].deepest, depth) }
            return nil
        }

        static func tooDeep(alias: Bool) -> String {
            let how = alias ? " once this alias is expanded" : ""
            return "nested more than \(Limits.yamlDepth) levels deep\(how) (drover reads at most \(Limits.yamlDepth))"
        }

        private static func name(_ anchor: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            anchor.map { String(cString: $0) }
        }
    }
}
