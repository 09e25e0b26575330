// RFC 5465 §8: the NOTIFY command. Only the syntax here; `NotifySet.refusal` checks the rules beyond it.

extension Reader {
    /// `notify = "NOTIFY" SP (notify-set / notify-none)`; `notify-none = "NONE"`;
    /// `notify-set = "SET" [status-indicator] SP event-groups`; `status-indicator = SP "STATUS"`;
    /// `event-groups = event-group *(SP event-group)`.
    mutating func notify() throws -> Command {
        try space("after NOTIFY")
        switch try keyword() {
        case "NONE": return .notify(nil)
        case "SET":
            try space("after SET")
            var set = NotifySet(groups: [])
            if try peek() != UInt8(ascii: "(") {
                guard try keyword() == "STATUS" else { throw ParseError.syntax("Expected STATUS or an event group") }
                set.status = true
                try space("after STATUS")
            }
            repeat {
                set.groups.append(try notifyEventGroup())
                try checkItems(set.groups.count, "event groups")
            } while try consume(0x20)
            return .notify(set)
        default:
            throw ParseError.syntax("Expected NOTIFY SET or NOTIFY NONE")
        }
    }

    /// `event-group = "(" filter-mailboxes SP events ")"`.
    mutating func notifyEventGroup() throws -> NotifyEventGroup {
        try openParen("an event group")
        let filter = try notifyFilter()
        try space("after the mailbox filter")
        let events = try notifyEvents()
        guard try closeParen() else { throw ParseError.syntax("Expected \")\" after the events") }
        return NotifyEventGroup(filter, events)
    }

    /// `filter-mailboxes = filter-mailboxes-selected / filter-mailboxes-other`;
    /// `filter-mailboxes-selected = "selected" / "selected-delayed"`;
    /// `filter-mailboxes-other = "inboxes" / "personal" / "subscribed" / ("subtree" SP one-or-more-mailbox) /
    /// ("mailboxes" SP one-or-more-mailbox)`; `one-or-more-mailbox = mailbox / many-mailboxes`;
    /// `many-mailboxes = "(" mailbox *(SP mailbox) ")"`.
    mutating func notifyFilter() throws -> NotifyMailboxFilter {
        switch try keyword() {
        case "SELECTED": return .selected
        case "SELECTED-DELAYED": return .selectedDelayed
        case "INBOXES": return .inboxes
        case "PERSONAL": return .personal
        case "SUBSCRIBED": return .subscribed
        case "SUBTREE":
            try space("after SUBTREE")
            return .subtree(try oneOrMoreMailbox())
        case "MAILBOXES":
            try space("after MAILBOXES")
            return .mailboxes(try oneOrMoreMailbox())
        default:
            throw ParseError.syntax(
                "Expected SELECTED, SELECTED-DELAYED, INBOXES, PERSONAL, SUBSCRIBED, SUBTREE or MAILBOXES")
        }
    }

    mutating func oneOrMoreMailbox() throws -> [[UInt8]] {
        if try peek() == UInt8(ascii: "(") { return try list("mailbox names") { try $0.mailbox() } }
        return [try mailbox()]
    }

    /// `events = ("(" event *(SP event) ")") / "NONE"`.
    mutating func notifyEvents() throws -> [NotifyEvent] {
        if try peek() != UInt8(ascii: "(") {
            guard try keyword() == "NONE" else { throw ParseError.syntax("Expected NONE or a list of events") }
            return []
        }
        let events = try list("events") { try $0.notifyEvent() }
        // Each event at most once (the same event twice in one group is a client bug).
        for (index, event) in events.enumerated() where events[..<index].contains(where: { $0.kind == event.kind }) {
            throw ParseError.syntax("Event \(event.name) appears twice")
        }
        return events
    }

    /// `event = message-event / flag-change / annotation-change / mailbox-event / subscription-change /
    /// mailbox-metadata-change / server-metadata-change / event-ext`;
    /// `message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) / "MessageExpunge"`;
    /// `event-ext = atom`.
    mutating func notifyEvent() throws -> NotifyEvent {
        let start = index
        switch try keyword() {
        case "MESSAGENEW":
            guard try peek() == 0x20, try peek(at: 1) == UInt8(ascii: "(") else { return .messageNew([]) }
            try space("after MessageNew")
            return .messageNew(try list("fetch attributes") { try $0.fetchAttribute() })
        case "MESSAGEEXPUNGE": return .messageExpunge
        case "FLAGCHANGE": return .flagChange
        case "ANNOTATIONCHANGE": return .annotationChange
        case "MAILBOXNAME": return .mailboxName
        case "SUBSCRIPTIONCHANGE": return .subscriptionChange
        case "MAILBOXMETADATACHANGE": return .mailboxMetadataChange
        case "SERVERMETADATACHANGE": return .serverMetadataChange
        default:
            index = start
            return .other(String(asciiUppercased: try atom("an event")))
        }
    }
}
