import Testing
@testable import TernIMAPCore

/// RFC 5465 NOTIFY: the grammar (§8) and the rules beyond it (§5, §6).
@Suite struct NotifyParserTests {
    static let supported: [NotifyEvent] = [.messageNew([]), .messageExpunge, .flagChange, .mailboxName, .subscriptionChange]

    func notify(_ text: String) -> NotifySet?? {
        guard case .command(let tagged) = parse(text), case .notify(let set) = tagged.command else { return .none }
        return .some(set)
    }

    @Test func notifyNone() {
        // RFC 5465 §3: "C: b NOTIFY NONE".
        #expect(notify("b NOTIFY NONE") == .some(nil))
        #expect(notify("b notify none") == .some(nil))
    }

    @Test func exampleFromSection3() {
        // Modelled on RFC 5465 §3's example: the selected mailbox with fetch attributes, a subtree, named mailboxes.
        let text = "a notify set status (selected MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)"
            + " (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))"
        let selected = NotifyEventGroup(.selected, [
            .messageNew([.uid, .bodySection(SectionSpec(text: .headerFields(["FROM", "TO", "SUBJECT"])), partial: nil, peek: true)]),
            .messageExpunge,
        ])
        // §8 `events` is parenthesised (or NONE): a bare list of events is a syntax error.
        let fixed = "a notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge))"
            + " (subtree Lists (MessageNew MessageExpunge)) (mailboxes misc (MessageNew MessageExpunge))"
        #expect(notify(text) == .none)
        let expected = NotifySet(status: true, groups: [
            selected,
            NotifyEventGroup(.subtree([bytes("Lists")]), [.messageNew([]), .messageExpunge]),
            NotifyEventGroup(.mailboxes([bytes("misc")]), [.messageNew([]), .messageExpunge]),
        ])
        #expect(notify(fixed) == .some(expected))
        #expect(expected.refusal(supported: Self.supported) == nil)
    }

    @Test func everyFilter() {
        let text = "a NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge FlagChange)) (INBOXES NONE)"
            + " (PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange)) (SUBSCRIBED (MailboxName))"
            + " (SUBTREE (\"Lists\" {4+}\r\nWork) (MessageNew MessageExpunge)) (MAILBOXES \"a b\" (MailboxName))"
        let expected = NotifySet(groups: [
            NotifyEventGroup(.selectedDelayed, [.messageNew([]), .messageExpunge, .flagChange]),
            NotifyEventGroup(.inboxes, []),
            NotifyEventGroup(.personal, [.messageNew([]), .messageExpunge, .mailboxName, .subscriptionChange]),
            NotifyEventGroup(.subscribed, [.mailboxName]),
            NotifyEventGroup(.subtree([bytes("Lists"), bytes("Work")]), [.messageNew([]), .messageExpunge]),
            NotifyEventGroup(.mailboxes([bytes("a b")]), [.mailboxName]),
        ])
        #expect(notify(text) == .some(expected))
    }

    @Test func unknownEventsParseAsExtensions() {
        #expect(notify("a NOTIFY SET (PERSONAL (MailboxName x-Future))")
            == .some(NotifySet(groups: [NotifyEventGroup(.personal, [.mailboxName, .other("X-FUTURE")])])))
    }

    @Test(arguments: [
        "a NOTIFY",
        "a NOTIFY SET",
        "a NOTIFY SET STATUS",
        "a NOTIFY ALL",
        "a NOTIFY SET (PERSONAL)",
        "a NOTIFY SET (PERSONAL ())",
        "a NOTIFY SET (EVERYTHING (MailboxName))",
        "a NOTIFY SET (SUBTREE (MailboxName))",
        "a NOTIFY SET (PERSONAL MailboxName)",
        "a NOTIFY SET (PERSONAL (MailboxName MailboxName))",
        "a NOTIFY SET (SELECTED (MessageNew (NOSUCHATT) MessageExpunge))",
        "a NOTIFY SET (PERSONAL (MailboxName))(INBOXES NONE)",
        "a NOTIFY SET STATUS(PERSONAL (MailboxName))",
    ])
    func syntaxErrors(_ text: String) {
        guard case .syntaxError(let tag, _) = parse(text) else {
            Issue.record("\(text) parsed: \(parse(text))")
            return
        }
        #expect(tag == "a")
    }

    @Test func refusals() {
        func refusal(_ text: String) -> NotifyRefusal? {
            guard case .some(.some(let set)) = notify(text) else {
                Issue.record("\(text) did not parse")
                return nil
            }
            return set.refusal(supported: Self.supported)
        }
        // RFC 5465 §5.2/§5.3: MessageNew and MessageExpunge together.
        #expect(refusal("a NOTIFY SET (PERSONAL (MessageNew))")?.reply.hasPrefix("BAD ") == true)
        #expect(refusal("a NOTIFY SET (INBOXES (MessageExpunge MailboxName))")?.reply.hasPrefix("BAD ") == true)
        // RFC 5465 §5.4: FlagChange needs them.
        #expect(refusal("a NOTIFY SET (SELECTED (FlagChange))")?.reply.hasPrefix("BAD ") == true)
        #expect(refusal("a NOTIFY SET (SELECTED (MessageExpunge FlagChange MessageNew))") == nil)
        // RFC 5465 §5.2: fetch attributes only for the selected mailbox.
        #expect(refusal("a NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))")?.reply.hasPrefix("BAD [CLIENTBUG] ") == true)
        #expect(refusal("a NOTIFY SET (SELECTED-DELAYED (MessageNew (UID FLAGS) MessageExpunge))") == nil)
        // The selected mailbox takes message events only.
        #expect(refusal("a NOTIFY SET (SELECTED (MessageNew MessageExpunge MailboxName))")?.reply.hasPrefix("BAD [CLIENTBUG] ") == true)
        // One selected group only.
        #expect(refusal("a NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED (MessageNew MessageExpunge))")?.reply.hasPrefix("BAD ") == true)
        // RFC 5465 §5.1: unsupported events → NO [BADEVENT (what is supported)].
        let badEvent = "NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] "
        #expect(refusal("a NOTIFY SET (SELECTED (MessageNew MessageExpunge AnnotationChange))")?.reply.hasPrefix(badEvent) == true)
        #expect(refusal("a NOTIFY SET (PERSONAL (MailboxMetadataChange))")?.reply.hasPrefix(badEvent) == true)
        #expect(refusal("a NOTIFY SET (PERSONAL (ServerMetadataChange))")?.reply.hasPrefix(badEvent) == true)
        #expect(refusal("a NOTIFY SET (PERSONAL (X-Future))")?.reply.hasPrefix(badEvent) == true)
        // The example of §3 (PERSONAL with the four events Thunderbird-like clients ask for) is fine.
        #expect(refusal("a NOTIFY SET (SELECTED (MessageNew (UID) MessageExpunge)) "
            + "(PERSONAL (MessageNew MessageExpunge MailboxName SubscriptionChange))") == nil)
    }

    @Test func everyPrefixIsIncomplete() {
        let full = Array("a NOTIFY SET STATUS (SELECTED (MessageNew (UID) MessageExpunge)) (SUBTREE (x y) NONE)\r\n".utf8)
        for end in 1..<full.count {
            let outcome = CommandParser.parse(Array(full[..<end]))
            #expect(outcome == .incomplete, "prefix of \(end) bytes: \(outcome)")
            if outcome != .incomplete { break }
        }
        guard case .command = CommandParser.parse(full) else {
            Issue.record("the whole command did not parse")
            return
        }
    }
}
