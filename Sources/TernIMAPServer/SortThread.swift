// SORT (RFC 5256, with RFC 5957 DISPLAYFROM/DISPLAYTO) and THREAD (ORDEREDSUBJECT, REFERENCES) over the messages
// a SEARCH key selected. Header values come from one MIME parse per message, only when a criterion needs them.
// Runs on the blocking pool. Strings compare with i;unicode-casemap approximated by lower-casing (RFC 5051's
// simple case folding), ties by sequence number (RFC 5256 §3).

import TernIMAPCore
import TernMIME
import TernStore

/// What SORT and THREAD read of one message.
struct SortFields {
    let uid: UInt32
    let sequence: Int
    let arrival: Int64
    let size: Int
    /// Sent date (Date header), or the internal date when missing (RFC 5256 §2.2).
    let date: Int64
    let subject: String
    let from: String
    let to: String
    let cc: String
    let displayFrom: String
    let displayTo: String
    let messageID: String?
    let references: [String]
    /// True if the subject had a reply/forward marker removed (RFC 5256 §2.1 step 5, for REFERENCES).
    let isReplyOrForward: Bool

    /// For tests: the fields given, the rest empty.
    init(sequence: Int, date: Int64 = 0, subject: String = "", from: String = "", size: Int = 0, messageID: String? = nil,
         references: [String] = [], isReplyOrForward: Bool = false) {
        uid = UInt32(sequence) * 10
        self.sequence = sequence
        arrival = date
        self.size = size
        self.date = date
        self.subject = BaseSubject.extract(subject).uppercased()
        self.from = from
        to = ""
        cc = ""
        displayFrom = from
        displayTo = ""
        self.messageID = messageID
        self.references = references
        self.isReplyOrForward = isReplyOrForward
    }

    /// `readHeaders: false` when only ARRIVAL and SIZE are needed (no file is read); otherwise only the header is.
    init(record: MessageRecord, sequence: Int, readHeaders: Bool = true) {
        uid = record.uid.rawValue
        self.sequence = sequence
        arrival = record.info.internalDate
        size = record.info.size
        let message = readHeaders ? (try? record.header()).map { MIMEMessage(parsing: $0) } : nil
        let header = message?.root.header
        let rawSubject = header?.decodedValue("Subject") ?? ""
        subject = BaseSubject.extract(rawSubject).uppercased()
        let lowered = rawSubject.trimmingLeadingSpaces.lowercased()
        isReplyOrForward = lowered.hasPrefix("re:") || lowered.hasPrefix("fw:") || lowered.hasPrefix("fwd:")
            || lowered.hasPrefix("re[") || rawSubject.lowercased().hasSuffix("(fwd)")
        // RFC 5256: the addr-mailbox of the first address; for a group, its display name (the group marker's
        // mailbox). Compared with i;ascii-casemap, which folds to upper case.
        func first(_ name: String) -> Address? {
            guard let header else { return nil }
            for field in header.fields(named: name) {
                if let address = Address.parseList(header.rawValue(of: field)).first(where: { !$0.isGroupEnd }) { return address }
            }
            return nil
        }
        func mailbox(_ name: String) -> String { (first(name)?.mailbox ?? "").uppercased() }
        func display(_ name: String) -> String {
            guard let address = first(name) else { return "" }
            if address.isGroupStart { return (address.mailbox ?? "").uppercased() }
            if let shown = address.displayName, !shown.isEmpty { return shown.uppercased() }
            return (address.addressSpec ?? "").uppercased()
        }
        from = mailbox("From")
        to = mailbox("To")
        cc = mailbox("Cc")
        displayFrom = display("From")
        displayTo = display("To")
        date = record.metadata?.sentDate
            ?? header?.unfoldedValue("Date").flatMap { MessageDate.parse($0) }?.secondsSinceEpoch
            ?? record.info.internalDate
        messageID = header?.unfoldedValue("Message-ID").flatMap { Self.messageIDs(in: $0).first }
        var refs = header?.unfoldedValue("References").map { Self.messageIDs(in: $0) } ?? []
        if refs.isEmpty, let inReplyTo = header?.unfoldedValue("In-Reply-To").flatMap({ Self.messageIDs(in: $0).first }) {
            refs = [inReplyTo]
        }
        references = refs
    }

    /// `<id>` tokens of a header value, in order.
    static func messageIDs(in value: [UInt8]) -> [String] {
        var result: [String] = []
        var start: Int?
        for (index, byte) in value.enumerated() {
            if byte == UInt8(ascii: "<") {
                start = index
            } else if byte == UInt8(ascii: ">"), let open = start {
                let id = String(decoding: value[(open + 1)..<index], as: UTF8.self).filter { !$0.isWhitespace }
                if !id.isEmpty { result.append(id) }
                start = nil
            }
        }
        return result
    }
}

extension String {
    fileprivate var trimmingLeadingSpaces: Substring { drop { $0 == " " || $0 == "\t" } }
}

enum Sorter {
    /// Messages in the order the criteria give (RFC 5256 §3; equal keys by sequence number).
    static func sort(_ messages: [SortFields], by criteria: [SortCriterion]) -> [SortFields] {
        messages.sorted { a, b in
            for criterion in criteria {
                let order = compare(a, b, criterion.key)
                if order != 0 { return criterion.reverse ? order > 0 : order < 0 }
            }
            return a.sequence < b.sequence
        }
    }

    private static func compare(_ a: SortFields, _ b: SortFields, _ key: SortCriterion.Key) -> Int {
        func cmp<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : (x > y ? 1 : 0) }
        switch key {
        case .arrival: return cmp(a.arrival, b.arrival)
        case .cc: return cmp(a.cc, b.cc)
        case .date: return cmp(a.date, b.date)
        case .from: return cmp(a.from, b.from)
        case .size: return cmp(a.size, b.size)
        case .subject: return cmp(a.subject, b.subject)
        case .to: return cmp(a.to, b.to)
        case .displayFrom: return cmp(a.displayFrom, b.displayFrom)
        case .displayTo: return cmp(a.displayTo, b.displayTo)
        }
    }
}

/// A thread tree node: a message, or a dummy (a referenced message we do not have).
final class ThreadNode {
    var message: SortFields?
    var parent: ThreadNode?
    var children: [ThreadNode] = []
    init(_ message: SortFields? = nil) { self.message = message }

    /// The date a subtree sorts by: its message's, or for a dummy its first child's (RFC 5256 REFERENCES step 4).
    var sortDate: (Int64, Int) {
        if let message { return (message.date, message.sequence) }
        return children.map(\.sortDate).min { $0 < $1 } ?? (0, 0)
    }

    func isAncestor(of other: ThreadNode) -> Bool {
        var node = other.parent
        var steps = 0
        while let current = node, steps < 100_000 {
            if current === self { return true }
            node = current.parent
            steps += 1
        }
        return false
    }

    func adopt(_ child: ThreadNode) {
        if let old = child.parent { old.children.removeAll { $0 === child } }
        child.parent = self
        children.append(child)
    }
}

enum Threader {
    /// THREAD=ORDEREDSUBJECT: by base subject, then date; the first of each subject is the parent of the rest.
    static func orderedSubject(_ messages: [SortFields]) -> [ThreadNode] {
        let sorted = messages.sorted { ($0.subject, $0.date, $0.sequence) < ($1.subject, $1.date, $1.sequence) }
        var roots: [ThreadNode] = []
        var current: ThreadNode?
        for message in sorted {
            if let root = current, root.message?.subject == message.subject {
                root.adopt(ThreadNode(message))
            } else {
                let root = ThreadNode(message)
                roots.append(root)
                current = root
            }
        }
        return roots.sorted { $0.sortDate < $1.sortDate }
    }

    /// THREAD=REFERENCES (RFC 5256 §3, after Jamie Zawinski's algorithm).
    static func references(_ messages: [SortFields]) -> [ThreadNode] {
        var byID: [String: ThreadNode] = [:]
        var all: [ThreadNode] = []
        func container(_ id: String) -> ThreadNode {
            if let node = byID[id] { return node }
            let node = ThreadNode()
            byID[id] = node
            all.append(node)
            return node
        }
        for message in messages.sorted(by: { $0.sequence < $1.sequence }) {
            // (1A) The message's container; a duplicate Message-ID gets a container of its own.
            let node: ThreadNode
            if let id = message.messageID, let existing = byID[id], existing.message == nil {
                existing.message = message
                node = existing
            } else {
                node = ThreadNode(message)
                if let id = message.messageID, byID[id] == nil { byID[id] = node }
                all.append(node)
            }
            // (1B) Link the references as a parent chain, never making a loop or overriding a link.
            var previous: ThreadNode?
            for reference in message.references.prefix(1000) {
                let ref = container(reference)
                if let previous, ref.parent == nil, ref !== previous, !ref.isAncestor(of: previous), !previous.isAncestor(of: ref) {
                    previous.adopt(ref)
                }
                previous = ref
            }
            // (1C) The last reference is the message's parent: an existing parent (from a truncated References
            // elsewhere) is dropped first, and no link is made that would close a loop.
            if let old = node.parent {
                old.children.removeAll { $0 === node }
                node.parent = nil
            }
            if let parent = previous, parent !== node, !node.isAncestor(of: parent), !parent.isAncestor(of: node) {
                parent.adopt(node)
            }
        }
        // (2) The root set, (3) pruned of dummies.
        var roots = prune(all.filter { $0.parent == nil })
        // (5) Group roots by base subject.
        var bySubject: [String: ThreadNode] = [:]
        for root in roots {
            guard let subject = subject(of: root), !subject.isEmpty else { continue }
            if let existing = bySubject[subject] {
                if existing.message == nil && root.message != nil { continue }
                if root.message == nil || (existing.message?.isReplyOrForward == true && root.message?.isReplyOrForward == false) {
                    bySubject[subject] = root
                }
            } else {
                bySubject[subject] = root
            }
        }
        var merged: [ThreadNode] = []
        for root in roots {
            guard let subject = subject(of: root), !subject.isEmpty, let chosen = bySubject[subject], chosen !== root else {
                merged.append(root)
                continue
            }
            if chosen.message == nil && root.message == nil {
                for child in root.children { chosen.adopt(child) }
            } else if chosen.message == nil {
                chosen.adopt(root)
            } else if root.message?.isReplyOrForward == true && chosen.message?.isReplyOrForward == false {
                chosen.adopt(root)
            } else {
                // Neither is a reply of the other: a new dummy holds both, in the chosen one's place.
                let dummy = ThreadNode()
                let place = merged.firstIndex { $0 === chosen }
                dummy.adopt(chosen)
                dummy.adopt(root)
                bySubject[subject] = dummy
                if let place { merged[place] = dummy } else { merged.append(dummy) }
            }
        }
        roots = merged.filter { $0.parent == nil }
        // (6) Siblings by date, (7) roots by date.
        sortTree(roots)
        return roots.sorted { $0.sortDate < $1.sortDate }
    }

    private static func subject(of node: ThreadNode) -> String? {
        node.message?.subject ?? node.children.compactMap(\.message).min { $0.date < $1.date }?.subject
    }

    /// Removes dummies without children and promotes the children of dummies (at the root only if just one).
    private static func prune(_ nodes: [ThreadNode]) -> [ThreadNode] {
        var result: [ThreadNode] = []
        // Recursion depth is bounded by the reference chains (at most 1,000 references per message are linked).
        func visit(_ node: ThreadNode, isRoot: Bool) -> [ThreadNode] {
            var kids: [ThreadNode] = []
            for child in node.children { kids += visit(child, isRoot: false) }
            node.children = []
            for kid in kids { node.adopt(kid) }
            if node.message == nil {
                if node.children.isEmpty { return [] }
                if !isRoot || node.children.count == 1 {
                    let promoted = node.children
                    for child in promoted { child.parent = nil }
                    node.children = []
                    return promoted
                }
            }
            return [node]
        }
        for node in nodes { result += visit(node, isRoot: true) }
        return result
    }

    private static func sortTree(_ nodes: [ThreadNode]) {
        var stack = nodes
        while let node = stack.popLast() {
            node.children.sort { $0.sortDate < $1.sortDate }
            stack += node.children
        }
    }

    /// `(1 2 (3)(4 5))` text of a forest, with sequence numbers or UIDs.
    static func render(_ roots: [ThreadNode], uid: Bool) -> String {
        var out = ""
        func number(_ node: ThreadNode) -> String? { node.message.map { uid ? "\($0.uid)" : "\($0.sequence)" } }
        func write(_ node: ThreadNode) {
            // A chain of single children is written flat: (1 2 3); branches as (a (b)(c)).
            var current: ThreadNode? = node
            var first = true
            while let n = current {
                if let text = number(n) {
                    if !first { out += " " }
                    out += text
                    first = false
                }
                if n.children.count == 1 {
                    current = n.children[0]
                } else {
                    if !n.children.isEmpty {
                        if !first { out += " " }
                        for child in n.children {
                            out += "("
                            write(child)
                            out += ")"
                        }
                    }
                    current = nil
                }
            }
        }
        for root in roots {
            out += "("
            write(root)
            out += ")"
        }
        return out
    }
}
