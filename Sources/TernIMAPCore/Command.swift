// The IMAP command as the parser produces it: RFC 3501 (IMAP4rev1) and RFC 9051 (IMAP4rev2) grammar plus the
// extensions Tern implements. Pure values; no I/O, no store types.
//
// Strings a client sends (mailbox names, search strings, LOGIN arguments) stay bytes here: what they mean depends
// on session state (modified UTF-7 or UTF-8 mailbox names, the SEARCH CHARSET), which the session decides.

/// A command tag: one or more ASTRING-CHARs other than `+` (RFC 9051 §9 `tag`).
public typealias Tag = String

/// One tagged command.
public struct TaggedCommand: Equatable, Sendable {
    public var tag: Tag
    public var command: Command
    public init(tag: Tag, command: Command) {
        self.tag = tag
        self.command = command
    }
}

/// `seq-number`: a number or `*` (the largest number in use).
public enum SequenceNumber: Hashable, Sendable {
    case number(UInt32)
    case last
}

/// `seq-range` or a single number (then `first == last`). The order of the ends is as the client wrote them;
/// `3:1` means the same as `1:3`.
public struct SequenceRange: Hashable, Sendable {
    public var first: SequenceNumber
    public var last: SequenceNumber
    public init(_ first: SequenceNumber, _ last: SequenceNumber) {
        self.first = first
        self.last = last
    }
    public init(_ single: SequenceNumber) {
        self.first = single
        self.last = single
    }
}

/// `sequence-set`, or `$` (RFC 5182 SEARCHRES: the result saved by the last `SEARCH RETURN (SAVE)`).
public enum SequenceSet: Hashable, Sendable {
    case ranges([SequenceRange])
    case saved
}

/// A flag in STORE, APPEND, SEARCH KEYWORD. System flags are case-insensitive and normalised; keywords keep the
/// client's spelling (atoms). `\Recent` is not accepted in STORE/APPEND (RFC 9051 removed it); the parser maps any
/// other backslash flag to `.extension`.
public enum Flag: Hashable, Sendable {
    case answered
    case flagged
    case deleted
    case seen
    case draft
    case keyword(String)
    case `extension`(String)
}

/// `date` (`1-Feb-2024`).
public struct IMAPDate: Hashable, Sendable {
    public var year: Int
    public var month: Int  // 1...12
    public var day: Int    // 1...31
    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }
}

/// `date-time` (`"17-Jul-1996 02:44:25 -0700"`).
public struct IMAPDateTime: Hashable, Sendable {
    public var date: IMAPDate
    public var hour: Int
    public var minute: Int
    public var second: Int
    /// Offset from UTC in minutes (-0700 → -420).
    public var zoneMinutes: Int
    public init(date: IMAPDate, hour: Int, minute: Int, second: Int, zoneMinutes: Int) {
        self.date = date
        self.hour = hour
        self.minute = minute
        self.second = second
        self.zoneMinutes = zoneMinutes
    }
}

/// A body section spec: `BODY[1.2.HEADER.FIELDS (From To)]`. `part` is empty for the whole message.
public struct SectionSpec: Hashable, Sendable {
    public enum Text: Hashable, Sendable {
        case header
        /// Field names as sent, upper-cased.
        case headerFields([String])
        case headerFieldsNot([String])
        case text
        /// Only valid with a non-empty part.
        case mime
    }
    public var part: [Int]
    public var text: Text?
    public init(part: [Int] = [], text: Text? = nil) {
        self.part = part
        self.text = text
    }
}

/// `<offset.length>`.
public struct Partial: Hashable, Sendable {
    public var offset: UInt32
    public var length: UInt32
    public init(offset: UInt32, length: UInt32) {
        self.offset = offset
        self.length = length
    }
}

public enum FetchAttribute: Hashable, Sendable {
    case envelope
    case flags
    case internalDate
    case rfc822
    case rfc822Header
    case rfc822Size
    case rfc822Text
    /// `BODY` without a section: the non-extensible body structure.
    case body
    case bodyStructure
    case uid
    case bodySection(SectionSpec, partial: Partial?, peek: Bool)
    /// RFC 3516 `BINARY[part]<partial>` / `BINARY.PEEK`.
    case binary(part: [Int], partial: Partial?, peek: Bool)
    case binarySize(part: [Int])
    /// RFC 7162.
    case modSeq
    /// RFC 8514.
    case saveDate
    /// RFC 8474.
    case emailID
    case threadID
    /// RFC 8970 (`PREVIEW` and `PREVIEW (LAZY)`).
    case preview(lazy: Bool)
}

/// FETCH modifiers (RFC 7162).
public struct FetchModifiers: Hashable, Sendable {
    public var changedSince: UInt64?
    /// `VANISHED` (UID FETCH only, needs QRESYNC enabled; the session checks that).
    public var vanished: Bool
    public init(changedSince: UInt64? = nil, vanished: Bool = false) {
        self.changedSince = changedSince
        self.vanished = vanished
    }
}

public indirect enum SearchKey: Hashable, Sendable {
    case all
    case answered, deleted, draft, flagged, seen, recent, new, old
    case unanswered, undeleted, undraft, unflagged, unseen
    case keyword(String)
    case unkeyword(String)
    case bcc([UInt8]), body([UInt8]), cc([UInt8]), from([UInt8]), subject([UInt8]), text([UInt8]), to([UInt8])
    /// Field name (as sent) and the substring searched for (empty matches every message having the field).
    case header(String, [UInt8])
    case before(IMAPDate), on(IMAPDate), since(IMAPDate)
    case sentBefore(IMAPDate), sentOn(IMAPDate), sentSince(IMAPDate)
    case larger(UInt32), smaller(UInt32)
    case uid(SequenceSet)
    case sequenceSet(SequenceSet)
    case not(SearchKey)
    case or(SearchKey, SearchKey)
    /// A parenthesised list, or the implicit AND of the top-level keys.
    case and([SearchKey])
    /// RFC 7162 `MODSEQ [entry-name entry-type] n`; the entry is parsed and ignored (Tern has no per-flag modseq).
    case modSeq(UInt64)
    /// RFC 5032.
    case younger(UInt32), older(UInt32)
    /// RFC 8514.
    case saveDateBefore(IMAPDate), saveDateOn(IMAPDate), saveDateSince(IMAPDate), saveDateSupported
    /// RFC 8474.
    case emailID(String), threadID(String)
}

/// ESEARCH return options (RFC 4731, RFC 5182).
public enum SearchReturnOption: Hashable, Sendable {
    case min, max, all, count, save
}

public struct SearchCommand: Hashable, Sendable {
    /// nil: no RETURN clause (classic `* SEARCH` reply). Empty array: `RETURN ()`, which means ALL (RFC 4731).
    public var returnOptions: [SearchReturnOption]?
    /// Upper-cased charset name, nil if none given.
    public var charset: String?
    public var key: SearchKey
    public init(returnOptions: [SearchReturnOption]? = nil, charset: String? = nil, key: SearchKey) {
        self.returnOptions = returnOptions
        self.charset = charset
        self.key = key
    }
}

/// RFC 5256 sort criteria.
public struct SortCriterion: Hashable, Sendable {
    public enum Key: Hashable, Sendable { case arrival, cc, date, from, size, subject, to, displayFrom, displayTo }
    public var key: Key
    public var reverse: Bool
    public init(_ key: Key, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }
}

public enum ThreadAlgorithm: Hashable, Sendable {
    case orderedSubject
    case references
}

public struct StoreOperation: Hashable, Sendable {
    public enum Mode: Hashable, Sendable { case replace, add, remove }
    public var mode: Mode
    public var silent: Bool
    public var flags: [Flag]
    public init(mode: Mode, silent: Bool, flags: [Flag]) {
        self.mode = mode
        self.silent = silent
        self.flags = flags
    }
}

public enum StatusAttribute: Hashable, Sendable {
    case messages, uidNext, uidValidity, unseen, deleted, size, highestModSeq, recent
    /// RFC 8438 `APPENDLIMIT`.
    case appendLimit
    /// RFC 8474 `MAILBOXID`.
    case mailboxID
}

/// SELECT/EXAMINE parameters (RFC 7162).
public struct SelectParameters: Hashable, Sendable {
    public struct QResync: Hashable, Sendable {
        public var uidValidity: UInt32
        public var modSeq: UInt64
        public var knownUIDs: SequenceSet?
        /// Sequence numbers and the UIDs the client believes they have.
        public var sequenceMatch: (sequences: SequenceSet, uids: SequenceSet)?
        public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil,
                    sequenceMatch: (sequences: SequenceSet, uids: SequenceSet)? = nil) {
            self.uidValidity = uidValidity
            self.modSeq = modSeq
            self.knownUIDs = knownUIDs
            self.sequenceMatch = sequenceMatch
        }
        public static func == (a: QResync, b: QResync) -> Bool {
            a.uidValidity == b.uidValidity && a.modSeq == b.modSeq && a.knownUIDs == b.knownUIDs
                && a.sequenceMatch?.sequences == b.sequenceMatch?.sequences && a.sequenceMatch?.uids == b.sequenceMatch?.uids
        }
        public func hash(into hasher: inout Hasher) {
            hasher.combine(uidValidity)
            hasher.combine(modSeq)
            hasher.combine(knownUIDs)
        }
    }
    public var condStore: Bool
    public var qresync: QResync?
    public init(condStore: Bool = false, qresync: QResync? = nil) {
        self.condStore = condStore
        self.qresync = qresync
    }
}

/// LIST (RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE).
public struct ListCommand: Hashable, Sendable {
    public enum SelectionOption: Hashable, Sendable { case subscribed, remote, recursiveMatch, specialUse }
    public enum ReturnOption: Hashable, Sendable {
        case subscribed, children, specialUse
        case status([StatusAttribute])
    }
    public var selectionOptions: [SelectionOption]
    public var reference: [UInt8]
    /// One or more patterns (`%` and `*` wildcards), raw bytes.
    public var patterns: [[UInt8]]
    public var returnOptions: [ReturnOption]
    public init(selectionOptions: [SelectionOption] = [], reference: [UInt8], patterns: [[UInt8]],
                returnOptions: [ReturnOption] = []) {
        self.selectionOptions = selectionOptions
        self.reference = reference
        self.patterns = patterns
        self.returnOptions = returnOptions
    }
}

public struct AppendMessage: Hashable, Sendable {
    public var flags: [Flag]
    public var internalDate: IMAPDateTime?
    public var bytes: [UInt8]
    /// True for RFC 3516 `literal8` (`~{n}`), which may contain NUL.
    public var isBinary: Bool
    public init(flags: [Flag] = [], internalDate: IMAPDateTime? = nil, bytes: [UInt8], isBinary: Bool = false) {
        self.flags = flags
        self.internalDate = internalDate
        self.bytes = bytes
        self.isBinary = isBinary
    }
}

public enum Command: Hashable, Sendable {
    // Any state.
    case capability
    case noop
    case logout
    /// RFC 2971: nil for `ID NIL`.
    case id([(key: String, value: String?)]?)

    // Not authenticated.
    case starttls
    /// The user name and password exactly as sent (astring bytes).
    case login(user: [UInt8], password: [UInt8])
    /// Mechanism upper-cased; `initialResponse` is the SASL-IR argument as sent (base64 text, or `=` for empty).
    case authenticate(mechanism: String, initialResponse: [UInt8]?)

    // Authenticated.
    case enable([String])
    case namespace
    case select([UInt8], SelectParameters)
    case examine([UInt8], SelectParameters)
    /// RFC 6154 `CREATE name (USE (\Sent))`: special-use attributes as sent (`\Sent`).
    case create([UInt8], specialUse: [String])
    case delete([UInt8])
    case rename([UInt8], [UInt8])
    case subscribe([UInt8])
    case unsubscribe([UInt8])
    case list(ListCommand)
    case lsub(reference: [UInt8], pattern: [UInt8])
    case status([UInt8], [StatusAttribute])
    /// One message, or several with RFC 3502 MULTIAPPEND (only if advertised).
    case append([UInt8], [AppendMessage])
    case idle
    /// RFC 4978; mechanism upper-cased.
    case compress(String)
    /// RFC 9208.
    case getQuota([UInt8])
    case getQuotaRoot([UInt8])
    /// RFC 5465: `NOTIFY SET …`, or nil for `NOTIFY NONE`.
    case notify(NotifySet?)

    // Selected.
    case check
    case close
    case unselect
    case expunge
    case uidExpunge(SequenceSet)
    case search(SearchCommand, uid: Bool)
    case fetch(SequenceSet, [FetchAttribute], FetchModifiers, uid: Bool)
    case store(SequenceSet, unchangedSince: UInt64?, StoreOperation, uid: Bool)
    case copy(SequenceSet, [UInt8], uid: Bool)
    case move(SequenceSet, [UInt8], uid: Bool)
    /// RFC 8508: append `message` to the mailbox, then expunge message `number` (a UID with `uid`) of the selected one.
    case replace(UInt32, [UInt8], AppendMessage, uid: Bool)
    case sort([SortCriterion], charset: String, SearchKey, returnOptions: [SearchReturnOption]?, uid: Bool)
    case thread(ThreadAlgorithm, charset: String, SearchKey, uid: Bool)

    public static func == (a: Command, b: Command) -> Bool {
        switch (a, b) {
        case (.id(let x), .id(let y)):
            guard let x, let y else { return x == nil && y == nil }
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.id, _), (_, .id):
            return false
        default:
            return a.hashKey == b.hashKey
        }
    }

    public func hash(into hasher: inout Hasher) {
        if case .id(let pairs) = self {
            hasher.combine("id")
            for pair in pairs ?? [] {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        } else {
            hasher.combine(hashKey)
        }
    }

    /// Everything but `.id`, in a form that is Hashable by synthesis.
    private var hashKey: HashableCommand? { HashableCommand(self) }
}

/// `Command` minus `.id` (whose tuple array cannot synthesise Hashable), so `==` and `hash` come for free for the rest.
private enum HashableCommand: Hashable {
    case capability, noop, logout, starttls, namespace, idle, check, close, unselect, expunge
    case login([UInt8], [UInt8])
    case authenticate(String, [UInt8]?)
    case enable([String])
    case select([UInt8], SelectParameters), examine([UInt8], SelectParameters)
    case create([UInt8], [String]), delete([UInt8]), rename([UInt8], [UInt8])
    case subscribe([UInt8]), unsubscribe([UInt8])
    case list(ListCommand), lsub([UInt8], [UInt8])
    case status([UInt8], [StatusAttribute])
    case append([UInt8], [AppendMessage])
    case compress(String), getQuota([UInt8]), getQuotaRoot([UInt8])
    case notify(NotifySet?)
    case uidExpunge(SequenceSet)
    case search(SearchCommand, Bool)
    case fetch(SequenceSet, [FetchAttribute], FetchModifiers, Bool)
    case store(SequenceSet, UInt64?, StoreOperation, Bool)
    case copy(SequenceSet, [UInt8], Bool), move(SequenceSet, [UInt8], Bool)
    case replace(UInt32, [UInt8], AppendMessage, Bool)
    case sort([SortCriterion], String, SearchKey, [SearchReturnOption]?, Bool)
    case thread(ThreadAlgorithm, String, SearchKey, Bool)

    init?(_ command: Command) {
        switch command {
        case .id: return nil
        case .capability: self = .capability
        case .noop: self = .noop
        case .logout: self = .logout
        case .starttls: self = .starttls
        case .namespace: self = .namespace
        case .idle: self = .idle
        case .check: self = .check
        case .close: self = .close
        case .unselect: self = .unselect
        case .expunge: self = .expunge
        case .login(let u, let p): self = .login(u, p)
        case .authenticate(let m, let r): self = .authenticate(m, r)
        case .enable(let e): self = .enable(e)
        case .select(let m, let p): self = .select(m, p)
        case .examine(let m, let p): self = .examine(m, p)
        case .create(let m, let s): self = .create(m, s)
        case .delete(let m): self = .delete(m)
        case .rename(let a, let b): self = .rename(a, b)
        case .subscribe(let m): self = .subscribe(m)
        case .unsubscribe(let m): self = .unsubscribe(m)
        case .list(let l): self = .list(l)
        case .lsub(let r, let p): self = .lsub(r, p)
        case .status(let m, let a): self = .status(m, a)
        case .append(let m, let msgs): self = .append(m, msgs)
        case .compress(let c): self = .compress(c)
        case .getQuota(let r): self = .getQuota(r)
        case .getQuotaRoot(let m): self = .getQuotaRoot(m)
        case .notify(let n): self = .notify(n)
        case .uidExpunge(let s): self = .uidExpunge(s)
        case .search(let s, let u): self = .search(s, u)
        case .fetch(let s, let a, let m, let u): self = .fetch(s, a, m, u)
        case .store(let s, let c, let o, let u): self = .store(s, c, o, u)
        case .copy(let s, let m, let u): self = .copy(s, m, u)
        case .move(let s, let m, let u): self = .move(s, m, u)
        case .replace(let n, let m, let msg, let u): self = .replace(n, m, msg, u)
        case .sort(let c, let cs, let k, let r, let u): self = .sort(c, cs, k, r, u)
        case .thread(let a, let cs, let k, let u): self = .thread(a, cs, k, u)
        }
    }
}
