// RFC 5465 NOTIFY: the command's model and the rules that go beyond its grammar (§5, §6, §8). Pure values; the
// session decides what each event means for its mailboxes.
//
// Rules checked by `NotifySet.refusal(supported:)`, in this order:
// - an event group names a set of mailboxes at most once: two SELECTED/SELECTED-DELAYED groups → BAD;
// - MessageNew and MessageExpunge come together (§5.2, §5.3) → BAD otherwise;
// - FlagChange and AnnotationChange need both of them (§5.4) → BAD otherwise;
// - fetch attributes after MessageNew only in a SELECTED or SELECTED-DELAYED group (§5.2) → BAD [CLIENTBUG];
// - a SELECTED or SELECTED-DELAYED group takes message events only (MailboxName and SubscriptionChange are about
//   mailboxes, not the selected one's messages) → BAD [CLIENTBUG];
// - an event the server does not implement → NO [BADEVENT (the events it does implement)] (§5.1, §8).

/// `filter-mailboxes` (RFC 5465 §6, §8). Mailbox names stay as sent (wire bytes).
public enum NotifyMailboxFilter: Hashable, Sendable {
    case selected
    case selectedDelayed
    case inboxes
    case personal
    case subscribed
    case subtree([[UInt8]])
    case mailboxes([[UInt8]])

    public var isSelected: Bool { self == .selected || self == .selectedDelayed }
}

/// `event` (RFC 5465 §5, §8); `.other` is an `event-ext` atom, upper-cased.
public enum NotifyEvent: Hashable, Sendable {
    /// Fetch attributes to send with each new message (SELECTED groups only); empty when none were given.
    case messageNew([FetchAttribute])
    case messageExpunge
    case flagChange
    case annotationChange
    case mailboxName
    case subscriptionChange
    case mailboxMetadataChange
    case serverMetadataChange
    case other(String)

    /// The name as RFC 5465 spells it (for BADEVENT).
    public var name: String {
        switch self {
        case .messageNew: "MessageNew"
        case .messageExpunge: "MessageExpunge"
        case .flagChange: "FlagChange"
        case .annotationChange: "AnnotationChange"
        case .mailboxName: "MailboxName"
        case .subscriptionChange: "SubscriptionChange"
        case .mailboxMetadataChange: "MailboxMetadataChange"
        case .serverMetadataChange: "ServerMetadataChange"
        case .other(let name): name
        }
    }

    /// MessageNew, MessageExpunge, FlagChange, AnnotationChange: about the messages of a mailbox.
    public var isMessageEvent: Bool {
        switch self {
        case .messageNew, .messageExpunge, .flagChange, .annotationChange: true
        case .mailboxName, .subscriptionChange, .mailboxMetadataChange, .serverMetadataChange, .other: false
        }
    }

    /// The same event without its fetch attributes (for comparing kinds).
    public var kind: NotifyEvent {
        if case .messageNew = self { return .messageNew([]) }
        return self
    }
}

/// `event-group = "(" filter-mailboxes SP events ")"`; `events` empty for `NONE`.
public struct NotifyEventGroup: Hashable, Sendable {
    public var filter: NotifyMailboxFilter
    public var events: [NotifyEvent]
    public init(_ filter: NotifyMailboxFilter, _ events: [NotifyEvent]) {
        self.filter = filter
        self.events = events
    }

    public func contains(_ kind: NotifyEvent) -> Bool { events.contains { $0.kind == kind.kind } }

    /// The fetch attributes given with MessageNew, if any.
    public var fetchAttributes: [FetchAttribute] {
        for event in events { if case .messageNew(let attributes) = event { return attributes } }
        return []
    }
}

/// `notify-set = "SET" [status-indicator] SP event-groups`.
public struct NotifySet: Hashable, Sendable {
    /// `STATUS`: send the current STATUS of every watched mailbox at once (RFC 5465 §3).
    public var status: Bool
    public var groups: [NotifyEventGroup]
    public init(status: Bool = false, groups: [NotifyEventGroup]) {
        self.status = status
        self.groups = groups
    }

    /// Why the server must refuse this NOTIFY SET, or nil. `supported` lists the event kinds the server implements.
    public func refusal(supported: [NotifyEvent]) -> NotifyRefusal? {
        if groups.filter({ $0.filter.isSelected }).count > 1 {
            return .bad(code: nil, "SELECTED and SELECTED-DELAYED may appear only once, together")
        }
        for group in groups {
            let hasNew = group.contains(.messageNew([]))
            let hasExpunge = group.contains(.messageExpunge)
            // RFC 5465 §5.2, §5.3: "MessageNew and MessageExpunge ... MUST be specified together".
            if hasNew != hasExpunge {
                return .bad(code: nil, "MessageNew and MessageExpunge must be requested together")
            }
            // RFC 5465 §5.4: FlagChange and AnnotationChange need MessageNew and MessageExpunge.
            if (group.contains(.flagChange) || group.contains(.annotationChange)) && !hasNew {
                return .bad(code: nil, "FlagChange and AnnotationChange need MessageNew and MessageExpunge")
            }
            // RFC 5465 §5.2: fetch attributes only make sense for the selected mailbox.
            if !group.fetchAttributes.isEmpty && !group.filter.isSelected {
                return .bad(code: "CLIENTBUG", "Fetch attributes with MessageNew need SELECTED or SELECTED-DELAYED")
            }
            if group.filter.isSelected, let event = group.events.first(where: { !$0.isMessageEvent }) {
                return .bad(code: "CLIENTBUG",
                            "\(event.name) cannot apply to the selected mailbox; only message events can")
            }
        }
        let unsupported = groups.flatMap(\.events).filter { event in !supported.contains { $0.kind == event.kind } }
        if !unsupported.isEmpty {
            // RFC 5465 §5.1: "NO [BADEVENT (...)]" listing the events the server does support.
            let names = supported.map(\.name).joined(separator: " ")
            return .no(code: "BADEVENT (\(names))", "Unsupported event \(unsupported[0].name)")
        }
        return nil
    }
}

/// A refusal of NOTIFY SET: the tagged status, its response code (without brackets) and text.
public enum NotifyRefusal: Hashable, Sendable {
    case bad(code: String?, String)
    case no(code: String?, String)

    /// `BAD [CODE] text` / `NO [CODE] text`, without the tag.
    public var reply: String {
        switch self {
        case .bad(let code, let text): "BAD " + (code.map { "[\($0)] " } ?? "") + text
        case .no(let code, let text): "NO " + (code.map { "[\($0)] " } ?? "") + text
        }
    }
}
