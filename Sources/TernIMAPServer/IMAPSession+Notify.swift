// RFC 5465 NOTIFY: unsolicited news of other mailboxes (STATUS), of mailbox names and subscriptions (LIST), and of
// the selected mailbox (EXISTS, FETCH, EXPUNGE/VANISHED) without the client polling.
//
// Invariants:
// - No polling. The account's change bus records which mailboxes changed (`NotifyChanges`, filled on the committing
//   thread) and wakes the loop; the session then asks the store about those mailboxes only (one list query, one
//   counts query per changed watched mailbox). `.mailboxesChanged` and `.changedElsewhere` say less, so the
//   session compares the mailbox list and subscriptions with the ones it knew (renames keep their MailboxID).
// - Notifications go out only between commands (no command running, none half received) or during IDLE, never in
//   the middle of a command's responses. EXPUNGE/VANISHED between commands only for `SELECTED` (the client asked
//   for them at once, RFC 5465 §6); `SELECTED-DELAYED` keeps them for IDLE or the end of a command that allows
//   them (RFC 9051 §7.5.1), as without NOTIFY.
// - The selected mailbox never gets a STATUS (its counts would contradict the session's view): with SELECTED its
//   news are EXISTS/EXPUNGE/FETCH; without, it is reported as without NOTIFY (at the end of commands, in IDLE).
// - STATUS goes out when the items the group watches changed: MESSAGES/UIDNEXT/UIDVALIDITY for MessageNew and
//   MessageExpunge, UNSEEN too with FlagChange. A mailbox matching several groups follows the first one.

import Logging
import Synchronization
import TernCore
import TernIMAPCore
import TernStore

/// What the change bus reported since the session last looked; written on committing threads, read on the loop.
final class NotifyChanges: Sendable {
    struct Pending: Sendable {
        /// Messages came or went (MessageNew, MessageExpunge)…
        var messages: Set<MailboxID> = []
        /// …or only their flags changed (FlagChange).
        var flags: Set<MailboxID> = []
        var namesChanged = false
        var everything = false
        var mailboxes: Set<MailboxID> { messages.union(flags) }
        var isEmpty: Bool { messages.isEmpty && flags.isEmpty && !namesChanged && !everything }
    }

    private let pending = Mutex(Pending())

    func record(_ change: StoreChange) {
        pending.withLock { pending in
            switch change {
            case .appended(let mailbox, _, _), .expunged(let mailbox, _, _):
                pending.messages.insert(mailbox)
            case .flagsChanged(let mailbox, _, _), .keywordsChanged(let mailbox, _, _):
                pending.flags.insert(mailbox)
            case .mailboxesChanged: pending.namesChanged = true
            case .changedElsewhere: pending.everything = true
            }
        }
    }

    var isEmpty: Bool { pending.withLock { $0.isEmpty } }

    func take() -> Pending { pending.withLock { pending in defer { pending = Pending() }; return pending } }
}

/// A session's NOTIFY SET, with the mailbox names decoded, and what it has told the client so far.
struct NotifyState: Sendable {
    struct Group: Sendable {
        enum Filter: Sendable {
            case inboxes, personal, subscribed
            case subtree([String])
            case mailboxes([String])
        }
        let filter: Filter
        let events: NotifyEventGroup

        func matches(_ name: String, subscriptions: Set<String>) -> Bool {
            switch filter {
            case .inboxes: return name == "INBOX"
            case .personal: return true
            case .subscribed: return subscriptions.contains(name)
            case .subtree(let roots): return roots.contains { name == $0 || name.hasPrefix($0 + "/") }
            case .mailboxes(let names): return names.contains(name)
            }
        }
    }

    /// The counts a STATUS notification shows.
    struct Status: Equatable, Sendable {
        var messages: Int
        var uidNext: UID
        var uidValidity: UIDValidity
        var unseen: Int
        var highestModSeq: ModSeq
    }

    /// The SELECTED or SELECTED-DELAYED group, if any.
    let selected: NotifyEventGroup?
    let groups: [Group]
    /// The mailboxes and subscriptions as last reported (or as they were at NOTIFY SET).
    var names: [MailboxID: String] = [:]
    var subscriptions: Set<String> = []
    /// The last STATUS known to the client (sent, or the state at NOTIFY SET) per watched mailbox.
    var statuses: [MailboxID: Status] = [:]

    /// The first group that matches a (non-selected) mailbox.
    func group(for name: String, subscriptions: Set<String>? = nil) -> NotifyEventGroup? {
        groups.first { $0.matches(name, subscriptions: subscriptions ?? self.subscriptions) }?.events
    }

    /// Mailboxes whose counts matter: in a group with message events, not the one SELECTED covers.
    func watchesMessages(_ name: String, subscriptions: Set<String>) -> Bool {
        group(for: name, subscriptions: subscriptions)?.contains(.messageNew([])) ?? false
    }

    /// Whether a change from `old` to `new` is news for a group. A mailbox without a known state is new: its
    /// starting point is empty.
    static func isNews(_ known: Status?, _ new: Status, _ group: NotifyEventGroup) -> Bool {
        let old = known
            ?? Status(messages: 0, uidNext: UID(1), uidValidity: new.uidValidity, unseen: 0, highestModSeq: ModSeq(0))
        if old.messages != new.messages || old.uidNext != new.uidNext || old.uidValidity != new.uidValidity {
            return true
        }
        return group.contains(.flagChange) && old.unseen != new.unseen
    }
}

extension IMAPSession {
    /// The events NOTIFY implements (RFC 5465 §5.1: listed in BADEVENT when a client asks for others).
    static let notifyEvents: [NotifyEvent] = [
        .messageNew([]), .messageExpunge, .flagChange, .mailboxName, .subscriptionChange,
    ]

    /// Unsent output above which notifications wait (a FETCH of big messages the client is still reading).
    static let notifyOutputLimit = 256 * 1024

    // MARK: NOTIFY SET / NONE

    func notifyCommand(tag: Tag, _ set: NotifySet?) {
        guard let store else { return }
        guard let set else {
            notify = nil
            _ = notifyChanges.take()
            send("\(tag) OK NOTIFY completed")
            return
        }
        if let refusal = set.refusal(supported: Self.notifyEvents) {
            send("\(tag) \(refusal.reply)")
            return
        }
        var groups: [NotifyState.Group] = []
        for group in set.groups where !group.filter.isSelected {
            func decode(_ names: [[UInt8]]) -> [String]? {
                var decoded: [String] = []
                for bytes in names {
                    guard let name = MailboxNames.decode(bytes, utf8: utf8Enabled), !name.isEmpty else { return nil }
                    decoded.append(name)
                }
                return decoded
            }
            let filter: NotifyState.Group.Filter
            switch group.filter {
            case .selected, .selectedDelayed: continue
            case .inboxes: filter = .inboxes
            case .personal: filter = .personal
            case .subscribed: filter = .subscribed
            case .subtree(let names), .mailboxes(let names):
                guard let decoded = decode(names) else {
                    send("\(tag) NO [CANNOT] Invalid mailbox name "
                        + "(not valid modified UTF-7, or 8-bit without UTF8=ACCEPT)")
                    return
                }
                if case .subtree = group.filter { filter = .subtree(decoded) } else { filter = .mailboxes(decoded) }
            }
            groups.append(NotifyState.Group(filter: filter, events: group))
        }
        var state = NotifyState(selected: set.groups.first { $0.filter.isSelected }, groups: groups)
        // Changes from here on are news; what the snapshot shows is the starting point.
        _ = notifyChanges.take()
        let initial = state
        let excluded = view?.id
        perform({ () throws -> ([MailboxInfo], [String], [MailboxID: NotifyState.Status]) in
            let boxes = try store.mailboxes()
            let subscriptions = try store.subscriptions()
            let statuses = try Self.notifyStatuses(store, boxes, initial, Set(subscriptions), only: nil,
                                                   excluded: excluded)
            return (boxes, subscriptions, statuses)
        }) { [self] result in
            switch result {
            case .success(let (boxes, subscriptions, statuses)):
                state.names = Dictionary(boxes.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
                state.subscriptions = Set(subscriptions)
                state.statuses = statuses
                if set.status {
                    for box in boxes { if let status = statuses[box.id] { send(notifyStatusLine(box.name, status)) } }
                }
                notify = state
                finish("\(tag) OK NOTIFY completed")
            case .failure(let error):
                finish("\(tag) " + failureReply(error, context: "NOTIFY"))
            }
        }
    }

    /// Counts of the watched mailboxes among `boxes`: those in `only`, or (nil) every one whose MODSEQ, UIDNEXT or
    /// UIDVALIDITY moved since the state the client knows (after `.changedElsewhere`, which names no mailbox).
    static func notifyStatuses(_ store: AccountStore, _ boxes: [MailboxInfo], _ state: NotifyState,
                               _ subscriptions: Set<String>, only: Set<MailboxID>?,
                               excluded: MailboxID?) throws(StoreError) -> [MailboxID: NotifyState.Status] {
        func moved(_ box: MailboxInfo) -> Bool {
            guard let known = state.statuses[box.id] else { return true }
            return known.highestModSeq != box.highestModSeq || known.uidNext != box.uidNext
                || known.uidValidity != box.uidValidity
        }
        var statuses: [MailboxID: NotifyState.Status] = [:]
        for box in boxes where box.id != excluded && (only.map { $0.contains(box.id) } ?? moved(box))
            && state.watchesMessages(box.name, subscriptions: subscriptions) {
            let counts = try store.counts(box.id)
            statuses[box.id] = NotifyState.Status(messages: counts.messages, uidNext: box.uidNext,
                                                  uidValidity: box.uidValidity,
                                                  unseen: counts.unseen, highestModSeq: box.highestModSeq)
        }
        return statuses
    }

    func notifyStatusLine(_ name: String, _ status: NotifyState.Status) -> String {
        var items = "MESSAGES \(status.messages) UIDNEXT \(status.uidNext) UNSEEN \(status.unseen)"
            + " UIDVALIDITY \(status.uidValidity)"
        if condStoreEnabled { items += " HIGHESTMODSEQ \(status.highestModSeq)" }
        return "* STATUS \(wireName(name)) (\(items))"
    }

    // MARK: Sending notifications

    /// Sends what changed, if the session is between commands or idling and NOTIFY is on.
    func deliverNotificationsIfQuiet() {
        guard notify != nil, !isBusy, state == .authenticated || state == .selected else { return }
        let idling: Bool
        switch mode {
        case .sasl: return
        case .idling: idling = true
        case .commands:
            guard !assembler.isAssembling else { return }
            idling = false
        }
        guard !notifyChanges.isEmpty else { return }
        // A client that does not read gets nothing more until it has taken most of what is queued. Notifications
        // are the current state, not a queue, so waiting loses nothing and nothing can pile up (hence no
        // NOTIFICATIONOVERFLOW). No drain callback exists, so look again a little later.
        if connection.pendingOutputBytes > Self.notifyOutputLimit {
            guard !notifyRetryScheduled else { return }
            notifyRetryScheduled = true
            connection.schedule(after: .milliseconds(100)) { [self] in
                notifyRetryScheduled = false
                deliverNotificationsIfQuiet()
            }
            return
        }
        deliverNotifications(notifyChanges.take(), idling: idling)
    }

    private func deliverNotifications(_ changes: NotifyChanges.Pending, idling: Bool) {
        guard let store, let current = notify else { return }
        let excluded = view?.id
        let only: Set<MailboxID>? = changes.everything ? nil : changes.mailboxes
        let needsCounts = changes.everything || !changes.mailboxes.isEmpty
        perform({ () throws -> ([MailboxInfo], [String], [MailboxID: NotifyState.Status]) in
            let boxes = try store.mailboxes()
            let subscriptions = try store.subscriptions()
            let statuses = needsCounts
                ? try Self.notifyStatuses(store, boxes, current, Set(subscriptions), only: only, excluded: excluded)
                : [:]
            return (boxes, subscriptions, statuses)
        }) { [self] result in
            guard case .success(let (boxes, subscriptions, statuses)) = result, var notify else {
                if case .failure(let error) = result { logger.error("notify failed", metadata: ["error": "\(error)"]) }
                endWork()
                return
            }
            reportNames(boxes, Set(subscriptions), &notify)
            for box in boxes {
                guard let status = statuses[box.id], let group = notify.group(for: box.name) else { continue }
                if NotifyState.isNews(notify.statuses[box.id], status, group) {
                    send(notifyStatusLine(box.name, status))
                }
                notify.statuses[box.id] = status
            }
            self.notify = notify
            reportSelected(changes, idling: idling, info: boxes.first { $0.id == view?.id })
        }
    }

    /// MailboxName (created, renamed with OLDNAME, deleted as \NonExistent) and SubscriptionChange as LIST
    /// responses (RFC 5465 §5.4, §5.5).
    private func reportNames(_ boxes: [MailboxInfo], _ subscriptions: Set<String>, _ notify: inout NotifyState) {
        let names = Dictionary(boxes.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
        func wants(_ name: String, _ event: NotifyEvent) -> Bool {
            (notify.group(for: name, subscriptions: subscriptions) ?? notify.group(for: name))?.contains(event) ?? false
        }
        // Names whose subscription a LIST below already shows (a subscribed new mailbox, a subscription that
        // followed its mailbox's rename): no separate SubscriptionChange line for them.
        var shown = Set<String>()
        func attributes(_ name: String) -> String { subscriptions.contains(name) ? "(\\Subscribed)" : "()" }
        for box in boxes {
            switch notify.names[box.id] {
            case nil where wants(box.name, .mailboxName):
                shown.insert(box.name)
                send("* LIST \(attributes(box.name)) \"/\" \(wireName(box.name))")
            case .some(let old) where old != box.name && (wants(box.name, .mailboxName) || wants(old, .mailboxName)):
                if notify.subscriptions.contains(old) && !subscriptions.contains(old) { shown.insert(old) }
                shown.insert(box.name)
                send("* LIST \(attributes(box.name)) \"/\" \(wireName(box.name)) (\"OLDNAME\" (\(wireName(old))))")
            default:
                break
            }
        }
        for (id, old) in notify.names.sorted(by: { $0.value < $1.value }) where names[id] == nil {
            notify.statuses[id] = nil
            if wants(old, .mailboxName) { send("* LIST (\\NonExistent) \"/\" \(wireName(old))") }
        }
        for name in subscriptions.subtracting(notify.subscriptions).sorted()
            where !shown.contains(name) && wants(name, .subscriptionChange) {
            send("* LIST (\\Subscribed) \"/\" \(wireName(name))")
        }
        for name in notify.subscriptions.subtracting(subscriptions).sorted()
            where !shown.contains(name) && wants(name, .subscriptionChange) {
            send("* LIST () \"/\" \(wireName(name))")
        }
        notify.names = names
        notify.subscriptions = subscriptions
    }

    /// The selected mailbox per SELECTED/SELECTED-DELAYED (RFC 5465 §5.2, §5.3, §6): EXISTS, the fetch attributes
    /// of MessageNew for each new message, expunges when allowed. During IDLE the selected mailbox is reported as
    /// IDLE always does.
    private func reportSelected(_ changes: NotifyChanges.Pending, idling: Bool, info: MailboxInfo?) {
        guard let view, let notify else {
            endWork()
            return
        }
        let group = notify.selected
        // Between commands, flag changes go out only with FlagChange (a new or expunged message brings them along).
        // After `.changedElsewhere` (no mailbox named), a moved UIDNEXT shows new mail; the rest waits for the end
        // of the next command, as without NOTIFY.
        let flagNews = group?.contains(.flagChange) == true && (changes.flags.contains(view.id) || changes.everything)
        let news = changes.messages.contains(view.id) || flagNews
            || (changes.everything && info.map { $0.uidNext != view.uidNext } == true)
        let wanted = idling ? hasUnseenChanges : (news && group?.contains(.messageNew([])) == true)
        guard wanted else {
            endWork()
            return
        }
        let allowExpunge = idling || group?.filter == .selected
        let lastKnown = view.uids.last ?? 0
        refresh(allowExpunge: allowExpunge) { [self] in
            let attributes = group?.fetchAttributes ?? []
            guard !attributes.isEmpty, let store, let view = self.view else {
                endWork()
                return
            }
            let fresh = view.uids.filter { $0 > lastKnown }
            guard !fresh.isEmpty else {
                endWork()
                return
            }
            var fetchRenderer = FetchRenderer(attributes: attributes, includeUID: false,
                                              includeModSeq: condStoreEnabled)
            fetchRenderer.recent = view.recent
            let renderer = fetchRenderer
            let id = view.id
            let sequences = Dictionary(uniqueKeysWithValues: fresh.map { ($0, view.sequenceNumber(of: $0) ?? 0) })
            perform({ () throws -> [UInt8] in
                var output: [UInt8] = []
                for record in try store.records(id, uids: fresh.map(UID.init)) {
                    do throws(FetchRenderer.RenderError) {
                        output += try renderer.render(sequence: sequences[record.uid.rawValue] ?? 0, record: record,
                                                      forceFlags: false)
                    } catch {
                        continue  // gone meanwhile, or an encoding the renderer refuses: the EXISTS stands alone
                    }
                }
                return output
            }) { [self] result in
                if case .success(let output) = result { send(output) }
                endWork()
            }
        }
    }
}
