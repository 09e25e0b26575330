// One IMAP connection: framing (lines and literals) → CommandAssembler → CommandParser → the command handlers in
// the IMAPSession+*.swift files. Everything runs on the connection's loop; store work that can block goes through
// `connection.offload`, with input paused until it completes, so commands run one at a time in order (pipelined
// commands wait in the socket buffer — natural backpressure).
//
// States (RFC 9051 §3): not authenticated → authenticated ⇄ selected → logout. Modes layered on top: a SASL
// exchange, IDLE, and "busy" while a command waits for the blocking pool.

import Logging
import TernAuth
import TernCompression
import TernCore
import TernIMAPCore
import TernStore

final class IMAPSession: ConnectionHandler {
    let environment: IMAPEnvironment
    var logger: Logger
    /// Set in `connectionDidBecomeActive`; the session lives and dies with it.
    var connection: (any ConnectionContext)!

    enum State {
        case notAuthenticated
        case authenticated
        case selected
        case loggedOut
    }

    enum Mode {
        case commands
        /// Waiting for the client's SASL response line.
        case sasl(tag: Tag, mechanism: SASLMechanism)
        /// In IDLE until the client sends DONE.
        case idling(tag: Tag)
    }

    enum SASLMechanism {
        case plain
        case loginUsername
        case loginPassword(username: String)
    }

    var state = State.notAuthenticated
    var mode = Mode.commands
    var assembler: CommandAssembler
    /// A command is waiting for the blocking pool (input is paused meanwhile).
    var isBusy = false
    var shutdownRequested = false

    // After login.
    var account: String?
    var store: AccountStore?
    var quota: Quota?
    var subscription: ChangeSubscription?
    /// A store change was announced since the last refresh…
    var changesPending = false
    /// …or the store's change count moved since the session last asked it (see `ChangeBus.sequence`).
    var seenChangeSequence: UInt64 = 0
    var hasUnseenChanges: Bool { changesPending || (store.map { $0.changes.sequence != seenChangeSequence } ?? false) }
    /// The catch-up `finish` would ask the pool for, made at the end of the command's own trip (`perform` with
    /// `catchUp`); `refresh` uses it instead of a second trip if it still applies (see `PrefetchedRefresh`).
    var prefetchedRefresh: PrefetchedRefresh?
    var view: MailboxView?
    /// RFC 5465 NOTIFY: what the client asked for (nil: NOTIFY NONE, the default) and what the bus reported.
    var notify: NotifyState?
    let notifyChanges = NotifyChanges()
    /// A delivery waits for the client to read (see `IMAPSession.notifyOutputLimit`).
    var notifyRetryScheduled = false

    // ENABLEd extensions (RFC 5161).
    var condStoreEnabled = false
    var qresyncEnabled = false
    var utf8Enabled = false
    var rev2Enabled = false
    var compressionActive = false

    var limits: IMAPLimits { environment.configuration.limits }

    init(environment: IMAPEnvironment) {
        self.environment = environment
        logger = environment.logger
        assembler = CommandAssembler(limits: environment.configuration.limits)
    }

    // MARK: ConnectionHandler

    func connectionDidBecomeActive(_ connection: any ConnectionContext) {
        self.connection = connection
        logger[metadataKey: "conn"] = "\(connection.id)"
        logger.debug("imap connection", metadata: ["client": "\(connection.peerHost)", "tls": "\(connection.isSecure)"])
        connection.readMode = .line(maxLength: limits.maxLineLength)
        connection.setIdleTimeout(environment.configuration.preLoginTimeout)
        send("* OK [CAPABILITY \(capabilities.joined(separator: " "))] \(environment.configuration.hostname) Tern IMAP ready")
    }

    func connection(_ connection: any ConnectionContext, didReceive frame: Frame) {
        guard state != .loggedOut else { return }
        switch mode {
        case .idling(let tag):
            finishIdle(tag: tag, frame: frame)
            return
        case .sasl(let tag, let mechanism):
            continueSASL(tag: tag, mechanism: mechanism, frame: frame)
            return
        case .commands:
            break
        }
        let event: CommandAssembler.Event
        switch frame {
        case .line(let line): event = assembler.receiveLine(line)
        case .bytes(let chunk, let remaining):
            // The literal is complete: the command goes on with a line.
            if remaining == 0 { connection.readMode = .line(maxLength: limits.maxLineLength) }
            event = assembler.receiveLiteral(chunk, remaining: remaining)
        case .lineTooLong: event = assembler.lineTooLong()
        case .data: return  // IMAP never asks for dot-terminated input.
        }
        switch event {
        case .needMoreLiteralBytes:
            break
        case .needLiteral(let count, let synchronizing):
            if synchronizing { send("+ Ready for literal data") }
            connection.readMode = count == 0 ? .line(maxLength: limits.maxLineLength) : .bytes(count: count)
            if count == 0 { _ = assembler.receiveLiteral([], remaining: 0) }
        case .literalRejected(let tag, let count, let synchronizing, let isAppend):
            connection.readMode = .line(maxLength: limits.maxLineLength)
            if !synchronizing {
                send("* BYE [TOOBIG] Literal of \(count) bytes is over the limit")
                close()
            } else if isAppend {
                send("\(tag ?? "*") NO [TOOBIG] Message is larger than the limit of \(limits.maxAppendLiteral) bytes")
            } else {
                send("\(tag ?? "*") BAD Literal of \(count) bytes is too large for this command")
            }
        case .lineTooLong:
            connection.readMode = .line(maxLength: limits.maxLineLength)
            send("* BAD [TOOBIG] Command line too long")
        case .complete(let bytes):
            connection.readMode = .line(maxLength: limits.maxLineLength)
            switch CommandParser.parse(bytes, limits: limits) {
            case .command(let command):
                execute(command)
            case .incomplete:
                send("* BAD Incomplete command")
            case .syntaxError(let tag, let message):
                send("\(tag ?? "*") BAD \(message)")
            }
        }
        // News that came in while a command was being received or run (RFC 5465: between commands).
        if notify != nil, !notifyChanges.isEmpty { deliverNotificationsIfQuiet() }
    }

    func connectionDidTimeOut(_ connection: any ConnectionContext) {
        send("* BYE Autologout; idle for too long")
    }

    func connectionShouldShutDown(_ connection: any ConnectionContext) {
        shutdownRequested = true
        guard !isBusy else { return }  // the running command finishes first; see `endWork`
        send("* BYE [UNAVAILABLE] Server shutting down")
        close()
    }

    func connectionDidClose(_ connection: any ConnectionContext, reason: CloseReason) {
        state = .loggedOut
        subscription?.cancel()
        subscription = nil
        if let account {
            environment.sessionCounts.leave(account)
            if store != nil { environment.stores.release(account) }
        }
        store = nil
        logger.debug("imap connection closed", metadata: ["reason": "\(reason)"])
    }

    // MARK: Output

    func send(_ line: String) {
        connection.write(Array((line + "\r\n").utf8))
    }

    func send(_ bytes: [UInt8]) {
        connection.write(bytes)
    }

    func close() {
        state = .loggedOut
        connection.close()
    }

    // MARK: Work on the blocking pool

    /// Runs `work` off the loop with input paused, then `done` on the loop. With `catchUp` (commands of the selected
    /// state that end with `finish`), the same trip also reads what changed in the mailbox after `work` if the
    /// store's change count moved, so that `finish` can report it without a second trip to the pool: with several
    /// sessions on one account nearly every command found changes to report, and waited for the pool twice.
    func perform<T: Sendable>(catchUp: Bool = false, _ work: @escaping @Sendable () throws -> T,
                              done: @escaping (Result<T, any Error>) -> Void) {
        isBusy = true
        connection.pauseReading()
        prefetchedRefresh = nil
        guard catchUp, state == .selected, let store, let view else {
            connection.offload(work, completion: done)
            return
        }
        let id = view.id
        let since = view.knownModSeq
        let seen = seenChangeSequence
        let pending = changesPending
        let lastKnown = view.uids.last ?? 0
        let claimsRecent = !view.readOnly && !rev2Enabled
        connection.offload({ () throws -> (T, PrefetchedRefresh?) in
            let value = try work()
            // The change count first, then the delta: nothing committed after the count was read can be missed.
            let sequence = store.changes.sequence
            guard sequence != seen || pending, let delta = try? store.delta(id, since: since), delta.expungedIsComplete,
                  // New messages to claim as \Recent (a write): left to `refresh`.
                  !(claimsRecent && delta.changed.contains { $0.uid.rawValue > lastKnown }) else { return (value, nil) }
            return (value, PrefetchedRefresh(sequence: sequence, mailbox: id, since: since, delta: delta))
        }) { [self] result in
            switch result {
            case .success(let (value, prefetched)):
                prefetchedRefresh = prefetched
                done(.success(value))
            case .failure(let error):
                done(.failure(error))
            }
        }
    }

    /// Ends a command started with `perform` (after its tagged reply is written).
    func endWork() {
        isBusy = false
        if shutdownRequested {
            send("* BYE [UNAVAILABLE] Server shutting down")
            close()
            return
        }
        connection.resumeReading()
        guard !isBusy else { return }  // resuming may have run a command already waiting
        if notify != nil, !notifyChanges.isEmpty {
            deliverNotificationsIfQuiet()
        } else if case .idling = mode, hasUnseenChanges, view != nil {  // (without a view, refresh would end here again)
            refreshWhileIdle()
        }
    }

    // MARK: Capabilities

    var capabilities: [String] {
        var caps = ["IMAP4rev1", "IMAP4rev2", "SASL-IR", "ID", "ENABLE", "IDLE", "LITERAL+"]
        if state == .notAuthenticated {
            if connection.isSecure {
                caps += ["AUTH=PLAIN", "AUTH=LOGIN"]
            } else {
                if connection.canStartTLS { caps.append("STARTTLS") }
                caps.append("LOGINDISABLED")
            }
            return caps
        }
        caps += ["NAMESPACE", "UNSELECT", "UIDPLUS", "CHILDREN", "SPECIAL-USE", "CREATE-SPECIAL-USE", "LIST-EXTENDED",
                 "LIST-STATUS", "MOVE", "CONDSTORE", "QRESYNC", "ESEARCH", "SEARCHRES", "MULTIAPPEND", "BINARY",
                 "STATUS=SIZE", "SAVEDATE", "OBJECTID", "REPLACE", "COMPRESS=DEFLATE", "SORT", "SORT=DISPLAY", "ESORT",
                 "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES", "PREVIEW", "QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "UTF8=ACCEPT",
                 "APPENDLIMIT=\(limits.maxAppendLiteral)", "NOTIFY"]
        return caps
    }

    // MARK: Dispatch

    func execute(_ tagged: TaggedCommand) {
        let tag = tagged.tag
        switch tagged.command {
        case .capability:
            send("* CAPABILITY \(capabilities.joined(separator: " "))")
            send("\(tag) OK CAPABILITY completed")
        case .noop, .check:
            finish("\(tag) OK " + (tagged.command == .check ? "CHECK completed" : "NOOP completed"))
        case .logout:
            send("* BYE Logging out")
            send("\(tag) OK LOGOUT completed")
            close()
        case .id:
            send("* ID (\"name\" \"Tern\" \"vendor\" \"Tern\")")
            send("\(tag) OK ID completed")
        case .starttls:
            startTLS(tag: tag)
        case .login(let user, let password):
            login(tag: tag, user: user, password: password)
        case .authenticate(let mechanism, let initialResponse):
            authenticate(tag: tag, mechanism: mechanism, initialResponse: initialResponse)
        default:
            guard state != .notAuthenticated else {
                send("\(tag) BAD Log in first")
                return
            }
            executeAuthenticated(tagged)
        }
    }

    private func executeAuthenticated(_ tagged: TaggedCommand) {
        let tag = tagged.tag
        switch tagged.command {
        case .enable(let names): enable(tag: tag, names)
        case .namespace:
            send("* NAMESPACE ((\"\" \"/\")) NIL NIL")
            send("\(tag) OK NAMESPACE completed")
        case .select(let name, let parameters): select(tag: tag, name, parameters, readOnly: false)
        case .examine(let name, let parameters): select(tag: tag, name, parameters, readOnly: true)
        case .create(let name, let specialUse): create(tag: tag, name, specialUse: specialUse)
        case .delete(let name): delete(tag: tag, name)
        case .rename(let from, let to): rename(tag: tag, from, to)
        case .subscribe(let name): subscribe(tag: tag, name, true)
        case .unsubscribe(let name): subscribe(tag: tag, name, false)
        case .list(let command): list(tag: tag, command)
        case .lsub(let reference, let pattern):
            list(tag: tag, ListCommand(selectionOptions: [.subscribed], reference: reference, patterns: [pattern]), lsub: true)
        case .status(let name, let items): status(tag: tag, name, items)
        case .append(let name, let messages): append(tag: tag, name, messages)
        case .idle: idle(tag: tag)
        case .getQuota(let root): getQuota(tag: tag, root)
        case .getQuotaRoot(let name): getQuotaRoot(tag: tag, name)
        case .compress(let mechanism): compress(tag: tag, mechanism)
        case .notify(let set): notifyCommand(tag: tag, set)
        default:
            guard state == .selected, view != nil else {
                send("\(tag) BAD No mailbox selected")
                return
            }
            executeSelected(tagged)
        }
    }

    private func executeSelected(_ tagged: TaggedCommand) {
        let tag = tagged.tag
        switch tagged.command {
        case .close: closeMailbox(tag: tag, expunge: true)
        case .unselect: closeMailbox(tag: tag, expunge: false)
        case .expunge: expunge(tag: tag, uids: nil)
        case .uidExpunge(let set): expunge(tag: tag, uids: set)
        case .search(let command, let uid): search(tag: tag, command, uid: uid)
        case .fetch(let set, let attributes, let modifiers, let uid): fetch(tag: tag, set, attributes, modifiers, uid: uid)
        case .store(let set, let unchangedSince, let operation, let uid):
            storeFlags(tag: tag, set, unchangedSince: unchangedSince, operation, uid: uid)
        case .copy(let set, let name, let uid): copy(tag: tag, set, name, uid: uid, move: false)
        case .move(let set, let name, let uid): copy(tag: tag, set, name, uid: uid, move: true)
        case .replace(let number, let name, let message, let uid): replace(tag: tag, number, name, message, uid: uid)
        case .sort(let criteria, let charset, let key, let returnOptions, let uid):
            sortOrThread(tag: tag, sort: criteria, thread: nil, charset: charset, key: key, returnOptions: returnOptions, uid: uid)
        case .thread(let algorithm, let charset, let key, let uid):
            sortOrThread(tag: tag, sort: nil, thread: algorithm, charset: charset, key: key, returnOptions: nil, uid: uid)
        default:
            send("\(tag) BAD Command not valid here")
        }
    }

    // MARK: ENABLE

    private func enable(tag: Tag, _ names: [String]) {
        var enabled: [String] = []
        for name in names {
            switch name.uppercased() {
            case "CONDSTORE" where !condStoreEnabled:
                condStoreEnabled = true
                enabled.append("CONDSTORE")
            case "QRESYNC" where !qresyncEnabled:
                qresyncEnabled = true
                condStoreEnabled = true
                enabled.append("QRESYNC")
            case "UTF8=ACCEPT" where !utf8Enabled:
                utf8Enabled = true
                enabled.append("UTF8=ACCEPT")
            case "IMAP4REV2" where !rev2Enabled:
                rev2Enabled = true
                utf8Enabled = true
                enabled.append("IMAP4rev2")
            default:
                break
            }
        }
        send("* ENABLED" + enabled.map { " " + $0 }.joined())
        send("\(tag) OK ENABLE completed")
    }

    // MARK: COMPRESS (RFC 4978)

    private func compress(tag: Tag, _ mechanism: String) {
        guard mechanism == "DEFLATE" else {
            send("\(tag) BAD Unknown compression mechanism \(mechanism)")
            return
        }
        guard !compressionActive else {
            send("\(tag) NO [COMPRESSIONACTIVE] DEFLATE is already active")
            return
        }
        do {
            let compression = try DeflateCompression()
            // The OK goes out uncompressed; everything after it, both ways, is compressed.
            send("\(tag) OK DEFLATE active")
            try connection.startCompression(compression)
            compressionActive = true
        } catch {
            logger.error("compress failed", metadata: ["error": "\(error)"])
            close()
        }
    }

    // MARK: STARTTLS

    private func startTLS(tag: Tag) {
        guard state == .notAuthenticated, !connection.isSecure, connection.canStartTLS else {
            send("\(tag) BAD STARTTLS is not available now")
            return
        }
        send("\(tag) OK Begin TLS negotiation now")
        do {
            try connection.startTLS()
            assembler.reset()
        } catch {
            logger.error("starttls failed", metadata: ["error": "\(error)"])
            close()
        }
    }
}
