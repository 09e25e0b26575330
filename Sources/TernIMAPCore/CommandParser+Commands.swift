// The command rules (RFC 9051 §9 `command`, RFC 3501 §9) and the extensions' command syntax.

extension Reader {
    /// `command = tag SP (command-any / command-auth / command-nonauth / command-select) CRLF`; the name is
    /// case-insensitive.
    mutating func command() throws -> Command {
        let name = try keyword()
        guard !name.isEmpty else { throw ParseError.syntax("Expected a command name") }
        switch name {
        // RFC 9051 §6.1: any state.
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "ID": return try id()
        // RFC 9051 §6.2: not authenticated.
        case "STARTTLS": return .starttls
        case "LOGIN":
            try space("after LOGIN")
            let user = try astring("a user name")
            try space("after the user name")
            return .login(user: user, password: try astring("a password"))
        case "AUTHENTICATE": return try authenticate()
        // RFC 9051 §6.3: authenticated.
        case "ENABLE": return try enable()
        case "NAMESPACE": return .namespace
        case "SELECT":
            let (mailbox, parameters) = try select()
            return .select(mailbox, parameters)
        case "EXAMINE":
            let (mailbox, parameters) = try select()
            return .examine(mailbox, parameters)
        case "CREATE": return try create()
        case "DELETE": return .delete(try mailboxArgument())
        case "RENAME":
            let from = try mailboxArgument()
            try space("between the mailbox names")
            return .rename(from, try mailbox())
        case "SUBSCRIBE": return .subscribe(try mailboxArgument())
        case "UNSUBSCRIBE": return .unsubscribe(try mailboxArgument())
        case "LIST": return try list()
        case "LSUB":
            let reference = try mailboxArgument()
            try space("after the reference")
            return .lsub(reference: reference, pattern: try listMailbox())
        case "STATUS": return try status()
        case "APPEND":
            isAppend = true
            return try append()
        case "IDLE": return .idle
        case "COMPRESS":
            try space("after COMPRESS")
            return .compress(String(asciiUppercased: try atom("a compression mechanism")))
        case "GETQUOTA":
            try space("after GETQUOTA")
            return .getQuota(try astring("a quota root"))
        case "GETQUOTAROOT": return .getQuotaRoot(try mailboxArgument())
        case "NOTIFY": return try notify()
        // RFC 9051 §6.4: selected.
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "SEARCH": return .search(try search(), uid: false)
        case "FETCH": return try fetch(uid: false)
        case "STORE": return try store(uid: false)
        case "COPY": return try copyOrMove(uid: false, move: false)
        case "MOVE": return try copyOrMove(uid: false, move: true)
        case "REPLACE":
            isAppend = true
            return try replace(uid: false)
        case "SORT": return try sort(uid: false)
        case "THREAD": return try thread(uid: false)
        case "UID": return try uid()
        default:
            throw ParseError.syntax("Unknown command \(name)")
        }
    }

    /// SP mailbox.
    mutating func mailboxArgument() throws -> [UInt8] {
        try space("before the mailbox name")
        return try mailbox()
    }

    /// `uid = "UID" SP (copy / move / fetch / search / store / uid-expunge)` (RFC 9051), plus SORT and THREAD
    /// (RFC 5256); `uid-expunge = "EXPUNGE" SP sequence-set` (RFC 4315).
    mutating func uid() throws -> Command {
        try space("after UID")
        let name = try keyword()
        switch name {
        case "FETCH": return try fetch(uid: true)
        case "STORE": return try store(uid: true)
        case "COPY": return try copyOrMove(uid: true, move: false)
        case "MOVE": return try copyOrMove(uid: true, move: true)
        case "REPLACE":
            isAppend = true
            return try replace(uid: true)
        case "SEARCH": return .search(try search(), uid: true)
        case "SORT": return try sort(uid: true)
        case "THREAD": return try thread(uid: true)
        case "EXPUNGE":
            try space("after UID EXPUNGE")
            return .uidExpunge(try sequenceSet())
        default:
            throw ParseError.syntax("Expected FETCH, STORE, COPY, MOVE, REPLACE, SEARCH, SORT, THREAD or EXPUNGE after UID")
        }
    }

    // MARK: Any state, not authenticated

    /// RFC 2971: `id = "ID" SP id-params-list`; `id-params-list = "(" #(string SP nstring) ")" / nil`.
    mutating func id() throws -> Command {
        try space("after ID")
        if try peek() != UInt8(ascii: "(") {
            guard try keyword() == "NIL" else { throw ParseError.syntax("Expected a parameter list or NIL after ID") }
            return .id(nil)
        }
        let pairs = try list("ID parameters", allowEmpty: true) { reader -> (key: String, value: String?) in
            let key = try reader.string("an ID field name")
            try reader.space("after an ID field name")
            let value = try reader.nstring("an ID value")
            return (String(decoding: key, as: UTF8.self), value.map { String(decoding: $0, as: UTF8.self) })
        }
        return .id(pairs)
    }

    /// `authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]`; `initial-resp = (base64 / "=")`
    /// (RFC 4959 SASL-IR). The response is kept as sent; the SASL layer decodes it.
    mutating func authenticate() throws -> Command {
        try space("after AUTHENTICATE")
        let mechanism = String(asciiUppercased: try atom("a SASL mechanism"))
        guard try consume(0x20) else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        let response = try take { IMAPCharacter.isAlpha($0) || IMAPCharacter.isDigit($0) || $0 == 0x2B || $0 == 0x2F || $0 == 0x3D }
        guard !response.isEmpty else { throw ParseError.syntax("Expected a base64 initial response") }
        return .authenticate(mechanism: mechanism, initialResponse: Array(response))
    }

    /// RFC 5161: `enable = "ENABLE" 1*(SP capability)`; capabilities upper-cased.
    mutating func enable() throws -> Command {
        var capabilities: [String] = []
        repeat {
            try space("before a capability")
            capabilities.append(String(asciiUppercased: try atom("a capability")))
            try checkItems(capabilities.count, "capabilities")
        } while try peek() == 0x20
        return .enable(capabilities)
    }

    // MARK: Authenticated

    /// `select = "SELECT" SP mailbox [select-params]`; `select-params = SP "(" select-param *(SP select-param) ")"`;
    /// RFC 7162: `select-param =/ "CONDSTORE" / "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
    /// [SP known-uids] [SP seq-match-data] ")"`; `seq-match-data = "(" known-sequence-set SP known-uid-set ")"`.
    mutating func select() throws -> ([UInt8], SelectParameters) {
        let mailbox = try mailboxArgument()
        var parameters = SelectParameters()
        guard try consume(0x20) else { return (mailbox, parameters) }
        _ = try list("SELECT parameters") { reader -> Void in
            switch try reader.keyword() {
            case "CONDSTORE": parameters.condStore = true
            case "QRESYNC":
                try reader.space("after QRESYNC")
                parameters.qresync = try reader.qresync()
            default: throw ParseError.syntax("Expected CONDSTORE or QRESYNC")
            }
        }
        return (mailbox, parameters)
    }

    mutating func qresync() throws -> SelectParameters.QResync {
        try openParen("QRESYNC parameters")
        let uidValidity = try nzNumber("UIDVALIDITY")
        try space("after UIDVALIDITY")
        var result = SelectParameters.QResync(uidValidity: uidValidity, modSeq: try modSequence("a mod-sequence"))
        if try closeParen() { return result }
        try space("after the mod-sequence")
        if try peek() != UInt8(ascii: "(") {
            result.knownUIDs = try sequenceSet()
            if try closeParen() { return result }
            try space("after the known UIDs")
        }
        try openParen("sequence match data")
        let sequences = try sequenceSet()
        try space("in sequence match data")
        let uids = try sequenceSet()
        try expect(UInt8(ascii: ")"), "\")\" after sequence match data")
        result.sequenceMatch = (sequences, uids)
        try expect(UInt8(ascii: ")"), "\")\" after QRESYNC parameters")
        return result
    }

    /// `create = "CREATE" SP mailbox [create-params]`; RFC 6154: `create-param =/ "USE" SP "(" [use-attr
    /// *(SP use-attr)] ")"`; `use-attr = "\All" / "\Archive" / … / use-attr-ext`.
    mutating func create() throws -> Command {
        let mailbox = try mailboxArgument()
        var specialUse: [String] = []
        if try consume(0x20) {
            _ = try list("CREATE parameters") { reader -> Void in
                guard try reader.keyword() == "USE" else { throw ParseError.syntax("Expected USE") }
                try reader.space("after USE")
                specialUse += try reader.list("special-use attributes", allowEmpty: true) { reader -> String in
                    try reader.expect(UInt8(ascii: "\\"), "a special-use attribute")
                    return "\\" + String(decoding: try reader.atom("a special-use attribute"), as: UTF8.self)
                }
            }
        }
        return .create(mailbox, specialUse: specialUse)
    }

    /// RFC 5258: `list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat [SP list-return-opts]`;
    /// `mbox-or-pat = list-mailbox / patterns`; `patterns = "(" list-mailbox *(SP list-mailbox) ")"`;
    /// `list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"`;
    /// RFC 5819 `return-option =/ "STATUS" SP "(" status-att *(SP status-att) ")"`.
    mutating func list() throws -> Command {
        try space("after LIST")
        var command = ListCommand(reference: [], patterns: [])
        if try peek() == UInt8(ascii: "(") {
            command.selectionOptions = try list("selection options", allowEmpty: true) { reader in
                switch try reader.keyword() {
                case "SUBSCRIBED": return ListCommand.SelectionOption.subscribed
                case "REMOTE": return .remote
                case "RECURSIVEMATCH": return .recursiveMatch
                case "SPECIAL-USE": return .specialUse
                default: throw ParseError.syntax("Expected SUBSCRIBED, REMOTE, RECURSIVEMATCH or SPECIAL-USE")
                }
            }
            // RFC 5258 §3.1: RECURSIVEMATCH needs another option that it modifies.
            if command.selectionOptions.contains(.recursiveMatch),
                !command.selectionOptions.contains(where: { $0 == .subscribed || $0 == .specialUse })
            {
                throw ParseError.syntax("RECURSIVEMATCH needs a selection option it modifies")
            }
            try space("after the selection options")
        }
        command.reference = try mailbox()
        try space("after the reference")
        if try peek() == UInt8(ascii: "(") {
            command.patterns = try list("mailbox patterns") { try $0.listMailbox() }
        } else {
            command.patterns = [try listMailbox()]
        }
        if try consume(0x20) {
            guard try keyword() == "RETURN" else { throw ParseError.syntax("Expected RETURN") }
            try space("after RETURN")
            command.returnOptions = try list("return options", allowEmpty: true) { reader in
                switch try reader.keyword() {
                case "SUBSCRIBED": return ListCommand.ReturnOption.subscribed
                case "CHILDREN": return .children
                case "SPECIAL-USE": return .specialUse
                case "STATUS":
                    try reader.space("after STATUS")
                    return .status(try reader.list("status attributes") { try $0.statusAttribute() })
                default: throw ParseError.syntax("Expected SUBSCRIBED, CHILDREN, SPECIAL-USE or STATUS")
                }
            }
        }
        return .list(command)
    }

    /// `status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"`.
    mutating func status() throws -> Command {
        let mailbox = try mailboxArgument()
        try space("after the mailbox name")
        return .status(mailbox, try list("status attributes") { try $0.statusAttribute() })
    }

    /// `status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" / "DELETED" / "SIZE" / "RECENT"` (RFC 3501),
    /// `"HIGHESTMODSEQ"` (RFC 7162), `"APPENDLIMIT"` (RFC 7889), `"MAILBOXID"` (RFC 8474).
    mutating func statusAttribute() throws -> StatusAttribute {
        switch try keyword() {
        case "MESSAGES": return .messages
        case "UIDNEXT": return .uidNext
        case "UIDVALIDITY": return .uidValidity
        case "UNSEEN": return .unseen
        case "DELETED": return .deleted
        case "SIZE": return .size
        case "HIGHESTMODSEQ": return .highestModSeq
        case "RECENT": return .recent
        case "APPENDLIMIT": return .appendLimit
        case "MAILBOXID": return .mailboxID
        default: throw ParseError.syntax("Expected a status attribute")
        }
    }

    /// RFC 3502: `append = "APPEND" SP mailbox 1*append-message`; `append-message = append-opts SP append-data`;
    /// `append-opts = [SP flag-list] [SP date-time]`; `append-data = literal / literal8` (RFC 3516).
    mutating func append() throws -> Command {
        let mailbox = try mailboxArgument()
        var messages: [AppendMessage] = []
        repeat {
            messages.append(try appendMessage())
            try checkItems(messages.count, "messages")
        } while try peek() == 0x20
        return .append(mailbox, messages)
    }

    /// RFC 8508: `replace = "REPLACE" SP seq-number SP mailbox append-message`, `uid-replace = "UID" SP replace`.
    mutating func replace(uid: Bool) throws -> Command {
        try space("before the message number")
        let number = try nzNumber(uid ? "UID" : "message number")
        let mailbox = try mailboxArgument()
        return .replace(number, mailbox, try appendMessage(), uid: uid)
    }

    /// `append-message = append-opts SP append-data` with its leading space; `append-opts = [SP flag-list]
    /// [SP date-time]`.
    mutating func appendMessage() throws -> AppendMessage {
        try space("before the message")
        var message = AppendMessage(bytes: [])
        if try peek() == UInt8(ascii: "(") {
            message.flags = try flagList()
            try space("after the flags")
        }
        if try peek() == UInt8(ascii: "\"") {
            message.internalDate = try dateTime()
            try space("after the date-time")
        }
        let c = try peek()
        guard c == UInt8(ascii: "{") || c == UInt8(ascii: "~") else {
            throw ParseError.syntax("Expected a literal with the message")
        }
        (message.bytes, message.isBinary) = try literal(allowBinary: true)
        return message
    }

    // MARK: Selected

    /// `copy = "COPY" SP sequence-set SP mailbox`; RFC 6851 `move = "MOVE" SP sequence-set SP mailbox`.
    mutating func copyOrMove(uid: Bool, move: Bool) throws -> Command {
        try space("before the sequence set")
        let set = try sequenceSet()
        let mailbox = try mailboxArgument()
        return move ? .move(set, mailbox, uid: uid) : .copy(set, mailbox, uid: uid)
    }

    /// `store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags`;
    /// RFC 7162 `store-modifier =/ "UNCHANGEDSINCE" SP mod-sequence-valzer`;
    /// `store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))`.
    mutating func store(uid: Bool) throws -> Command {
        try space("before the sequence set")
        let set = try sequenceSet()
        try space("after the sequence set")
        var unchangedSince: UInt64?
        if try peek() == UInt8(ascii: "(") {
            _ = try list("STORE modifiers") { reader -> Void in
                guard try reader.keyword() == "UNCHANGEDSINCE" else { throw ParseError.syntax("Expected UNCHANGEDSINCE") }
                try reader.space("after UNCHANGEDSINCE")
                unchangedSince = try reader.modSequence("a mod-sequence")
            }
            try space("after the STORE modifiers")
        }
        var mode = StoreOperation.Mode.replace
        if try consume(UInt8(ascii: "+")) {
            mode = .add
        } else if try consume(UInt8(ascii: "-")) {
            mode = .remove
        }
        let silent: Bool
        switch try keyword() {
        case "FLAGS": silent = false
        case "FLAGS.SILENT": silent = true
        default: throw ParseError.syntax("Expected FLAGS, +FLAGS or -FLAGS (optionally .SILENT)")
        }
        try space("after FLAGS")
        var flags: [Flag] = []
        if try peek() == UInt8(ascii: "(") {
            flags = try flagList()
        } else {
            repeat {
                flags.append(try flag())
                try checkItems(flags.count, "flags")
            } while try consume(0x20)
        }
        return .store(set, unchangedSince: unchangedSince, StoreOperation(mode: mode, silent: silent, flags: flags), uid: uid)
    }
}
