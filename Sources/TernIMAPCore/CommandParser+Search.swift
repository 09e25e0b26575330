// SEARCH, SORT and THREAD (RFC 9051 §6.4.4, RFC 3501 §6.4.4, RFC 4731, RFC 5182, RFC 5256, RFC 5267, RFC 7162,
// RFC 5032, RFC 8514, RFC 8474). Search keys nest through NOT, OR and parentheses; they are parsed with an
// explicit stack bounded by `maxNestingDepth`, never by recursion.

extension Reader {
    /// `search = "SEARCH" [search-return-opts] SP search-program`;
    /// `search-program = ["CHARSET" SP charset SP] search-key *(SP search-key)` (RFC 9051: RETURN before CHARSET).
    mutating func search() throws -> SearchCommand {
        try space("after SEARCH")
        var command = SearchCommand(key: .all)
        if try consumeKeyword("RETURN") {
            try space("after RETURN")
            command.returnOptions = try searchReturnOptions()
            try space("after the return options")
        }
        if try consumeKeyword("CHARSET") {
            try space("after CHARSET")
            command.charset = try charset()
            try space("after the charset")
        }
        command.key = try searchKeys()
        return command
    }

    /// `search-return-opts = SP "RETURN" SP "(" [search-return-opt *(SP search-return-opt)] ")"`;
    /// `search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE"` (RFC 4731, RFC 5182).
    mutating func searchReturnOptions() throws -> [SearchReturnOption] {
        try list("search return options", allowEmpty: true) { reader in
            switch try reader.keyword() {
            case "MIN": return SearchReturnOption.min
            case "MAX": return .max
            case "ALL": return .all
            case "COUNT": return .count
            case "SAVE": return .save
            default: throw ParseError.syntax("Expected MIN, MAX, ALL, COUNT or SAVE")
            }
        }
    }

    /// `search-key *(SP search-key)` up to the end of the line: one key, or `.and` of several.
    mutating func searchKeys() throws -> SearchKey {
        var keys: [SearchKey] = []
        var count = 0
        repeat {
            keys.append(try searchKey(itemCount: &count))
        } while try consume(0x20)
        guard try atEndOfLine() else { throw ParseError.syntax("Expected a search key") }
        return keys.count == 1 ? keys[0] : .and(keys)
    }

    private enum SearchFrame {
        case not
        case orFirst
        case orSecond(SearchKey)
        /// The keys so far are the last element of `lists` (kept apart so appending never copies the array).
        case parenthesised
    }

    /// `search-key = … / "NOT" SP search-key / "OR" SP search-key SP search-key / "(" search-key *(SP search-key) ")"`,
    /// iteratively. `itemCount` counts every key against `maxListItems`.
    mutating func searchKey(itemCount: inout Int) throws -> SearchKey {
        var stack: [SearchFrame] = []
        var lists: [[SearchKey]] = []
        while true {
            guard stack.count <= limits.maxNestingDepth else { throw ParseError.syntax("Search keys nested too deeply") }
            var key: SearchKey
            if try consume(UInt8(ascii: "(")) {
                stack.append(.parenthesised)
                lists.append([])
                continue
            }
            let c = try peek()
            if IMAPCharacter.isDigit(c) || c == UInt8(ascii: "*") || c == UInt8(ascii: "$") {
                key = .sequenceSet(try sequenceSet())
            } else {
                let name = try keyword()
                if name == "NOT" {
                    try space("after NOT")
                    stack.append(.not)
                    continue
                }
                if name == "OR" {
                    try space("after OR")
                    stack.append(.orFirst)
                    continue
                }
                key = try simpleSearchKey(name)
            }
            itemCount += 1
            try checkItems(itemCount, "search keys")
            // Reduce: close every frame the new key completes.
            reduce: while true {
                guard let frame = stack.popLast() else { return key }
                switch frame {
                case .not:
                    key = .not(key)
                case .orFirst:
                    try space("between the keys of OR")
                    stack.append(.orSecond(key))
                    break reduce
                case .orSecond(let first):
                    key = .or(first, key)
                case .parenthesised:
                    lists[lists.count - 1].append(key)
                    if try closeParen() {
                        key = .and(lists.removeLast())
                    } else {
                        try space("between search keys")
                        stack.append(.parenthesised)
                        break reduce
                    }
                }
            }
        }
    }

    /// The search keys other than NOT, OR, parentheses and sequence sets; `name` is already read, upper-cased.
    mutating func simpleSearchKey(_ name: String) throws -> SearchKey {
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "SEEN": return .seen
        case "RECENT": return .recent
        case "NEW": return .new
        case "OLD": return .old
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "KEYWORD": return .keyword(try searchKeyword(name))
        case "UNKEYWORD": return .unkeyword(try searchKeyword(name))
        case "BCC": return .bcc(try searchString(name))
        case "BODY": return .body(try searchString(name))
        case "CC": return .cc(try searchString(name))
        case "FROM": return .from(try searchString(name))
        case "SUBJECT": return .subject(try searchString(name))
        case "TEXT": return .text(try searchString(name))
        case "TO": return .to(try searchString(name))
        case "HEADER":
            try space("after HEADER")
            let field = try astring("a header field name")
            try space("after the header field name")
            return .header(String(decoding: field, as: UTF8.self), try astring("a search string"))
        case "BEFORE": return .before(try searchDate(name))
        case "ON": return .on(try searchDate(name))
        case "SINCE": return .since(try searchDate(name))
        case "SENTBEFORE": return .sentBefore(try searchDate(name))
        case "SENTON": return .sentOn(try searchDate(name))
        case "SENTSINCE": return .sentSince(try searchDate(name))
        case "LARGER":
            try space("after LARGER")
            return .larger(try size32("a size"))
        case "SMALLER":
            try space("after SMALLER")
            return .smaller(try size32("a size"))
        case "UID":
            try space("after UID")
            return .uid(try sequenceSet())
        // RFC 7162 §3.1.5: "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer.
        case "MODSEQ":
            try space("after MODSEQ")
            if try peek() == UInt8(ascii: "\"") {
                _ = try quoted()
                try space("after the entry name")
                guard ["PRIV", "SHARED", "ALL"].contains(try keyword()) else {
                    throw ParseError.syntax("Expected priv, shared or all")
                }
                try space("after the entry type")
            }
            return .modSeq(try modSequence("a mod-sequence"))
        // RFC 5032.
        case "OLDER":
            try space("after OLDER")
            return .older(try nzNumber("number of seconds"))
        case "YOUNGER":
            try space("after YOUNGER")
            return .younger(try nzNumber("number of seconds"))
        // RFC 8514.
        case "SAVEDBEFORE": return .saveDateBefore(try searchDate(name))
        case "SAVEDON": return .saveDateOn(try searchDate(name))
        case "SAVEDSINCE": return .saveDateSince(try searchDate(name))
        case "SAVEDATESUPPORTED": return .saveDateSupported
        // RFC 8474.
        case "EMAILID": return .emailID(try objectID(name))
        case "THREADID": return .threadID(try objectID(name))
        case "": throw ParseError.syntax("Expected a search key")
        default: throw ParseError.syntax("Unknown search key \(name)")
        }
    }

    private mutating func searchString(_ name: String) throws -> [UInt8] {
        try space("after \(name)")
        return try astring("a search string")
    }

    private mutating func searchDate(_ name: String) throws -> IMAPDate {
        try space("after \(name)")
        return try date()
    }

    /// `flag-keyword = atom` (system flags are not keywords).
    private mutating func searchKeyword(_ name: String) throws -> String {
        try space("after \(name)")
        return String(decoding: try atom("a keyword"), as: UTF8.self)
    }

    /// RFC 8474 `objectid = 1*255(ALPHA / DIGIT / "_" / "-")`.
    mutating func objectID(_ name: String) throws -> String {
        try space("after \(name)")
        let bytes = try take { IMAPCharacter.isAlpha($0) || IMAPCharacter.isDigit($0) || $0 == 0x5F || $0 == 0x2D }
        guard !bytes.isEmpty, bytes.count <= 255 else { throw ParseError.syntax("Expected an object id") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// RFC 5256 `sort = ["UID" SP] "SORT" SP sort-criteria SP search-criteria`; RFC 5267 adds
    /// `[sort-return-opts]` after SORT; `sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"`;
    /// `sort-criterion = ["REVERSE" SP] sort-key`; `search-criteria = charset 1*(SP search-key)`;
    /// RFC 5957 adds DISPLAYFROM and DISPLAYTO.
    mutating func sort(uid: Bool) throws -> Command {
        try space("after SORT")
        var returnOptions: [SearchReturnOption]?
        if try consumeKeyword("RETURN") {
            try space("after RETURN")
            returnOptions = try searchReturnOptions()
            try space("after the return options")
        }
        let criteria = try list("sort criteria") { reader -> SortCriterion in
            var reverse = false
            var name = try reader.keyword()
            if name == "REVERSE" {
                reverse = true
                try reader.space("after REVERSE")
                name = try reader.keyword()
            }
            let key: SortCriterion.Key
            switch name {
            case "ARRIVAL": key = .arrival
            case "CC": key = .cc
            case "DATE": key = .date
            case "FROM": key = .from
            case "SIZE": key = .size
            case "SUBJECT": key = .subject
            case "TO": key = .to
            case "DISPLAYFROM": key = .displayFrom
            case "DISPLAYTO": key = .displayTo
            default: throw ParseError.syntax("Expected a sort key")
            }
            return SortCriterion(key, reverse: reverse)
        }
        try space("after the sort criteria")
        let charset = try charset()
        try space("after the charset")
        return .sort(criteria, charset: charset, try searchKeys(), returnOptions: returnOptions, uid: uid)
    }

    /// RFC 5256 `thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria`;
    /// `thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext`.
    mutating func thread(uid: Bool) throws -> Command {
        try space("after THREAD")
        let algorithm: ThreadAlgorithm
        switch try keyword() {
        case "ORDEREDSUBJECT": algorithm = .orderedSubject
        case "REFERENCES": algorithm = .references
        default: throw ParseError.syntax("Expected ORDEREDSUBJECT or REFERENCES")
        }
        try space("after the threading algorithm")
        let charset = try charset()
        try space("after the charset")
        return .thread(algorithm, charset: charset, try searchKeys(), uid: uid)
    }
}
