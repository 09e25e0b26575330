// A private Dovecot (Debian's dovecot-imapd 2.3) for tests: the "old server" that `ternctl migrate` copies mail from.
//
// Invariants:
// - Everything lives in one temporary folder: config, base_dir (sockets, master.pid), state_dir, log, passwd-file,
//   maildirs, a self-signed certificate. Nothing system-wide is read or written (`-c` names our config only).
// - It listens on 127.0.0.1 only, on two free ports chosen at start: `imap` (STARTTLS offered, plaintext LOGIN
//   allowed: `disable_plaintext_auth = no`) and `imaps` (implicit TLS).
// - The master runs in a process group of its own (its pid is the group id) and everything it forks stays in that
//   group, so `stop()` signals exactly the processes this object started: SIGTERM to the group (the master reaps its
//   children, about 40 ms), SIGKILL to the group only if something is still there after a few seconds.
// - Dovecot's master must start as root (it switches the mail processes to the system user `mail`, as
//   bench/imap/run.sh does); the folder is 0755 so those processes can reach it.
// - A test run that crashed leaves its folder behind with the test process's pid in `owner.pid`; the next start
//   stops such a Dovecot (after checking its command line names that folder) and removes the folder.

import Foundation
import Glibc
import Synchronization
public import TernCore
import TernTLS

public enum DovecotServerError: Error, CustomStringConvertible {
    case notInstalled(String)
    case needsRoot
    case badArgument(String)
    case setup(String)
    case didNotStart(String, logTail: String)

    public var description: String {
        switch self {
        case .notInstalled(let path): return "\(path) not found: install dovecot-imapd (Debian package)"
        case .needsRoot: return "Dovecot's master must start as root (it runs the mail processes as the user 'mail')"
        case .badArgument(let text): return text
        case .setup(let text): return "setting up Dovecot's folder failed: \(text)"
        case .didNotStart(let why, let log): return "Dovecot did not start: \(why); log tail:\n\(log)"
        }
    }
}

public final class DovecotServer: Sendable {
    public static let executable = "/usr/sbin/dovecot"

    /// Whether a test can start one here: Dovecot is installed and we are root.
    /// Under `.ci/run` (TERN_CI=1) Dovecot must be there: its tests run, and fail, rather than skip.
    public static var isAvailable: Bool { (access(executable, X_OK) == 0 && geteuid() == 0) || getenv("TERN_CI") != nil }

    /// The temporary folder holding everything (removed by `stop()`).
    public let directory: String
    /// The namespace's hierarchy separator: "." (Maildir++ layout, like Courier) or "/" (`LAYOUT=fs`).
    public let hierarchySeparator: Character
    /// The personal namespace's prefix: "" or "INBOX" followed by the separator (Courier style: "INBOX.Sent").
    public let namespacePrefix: String
    /// `imap`: plaintext with STARTTLS offered, plaintext LOGIN allowed.
    public let imapPort: UInt16
    /// `imaps`: implicit TLS.
    public let imapsPort: UInt16
    /// The self-signed certificate (PEM, P-256, CN and subjectAltName `localhost`) and its key.
    public let certificatePath: String
    public let keyPath: String
    /// SHA-256 of the certificate's DER bytes as `openssl x509 -noout -fingerprint -sha256` prints it after the `=`:
    /// upper-case hex pairs separated by colons (`AB:01:…`).
    public let certificateSHA256Fingerprint: String
    /// The same digest as 64 lower-case hex digits without separators (`ab01…`).
    public let certificateSHA256Hex: String

    public var imapAddress: ListenAddress { ListenAddress(host: "127.0.0.1", port: imapPort, family: .ipv4) }
    public var imapsAddress: ListenAddress { ListenAddress(host: "127.0.0.1", port: imapsPort, family: .ipv4) }
    public let configPath: String
    /// Dovecot's own log (every service, info level included).
    public let logPath: String
    /// The master's standard output and error (fatal errors before the log is open go there).
    public let outputPath: String
    let passwdPath: String

    private struct State {
        /// The master's pid, also its process group's id; nil once stopped.
        var masterPID: pid_t?
        var logins: Set<String>
    }
    private let state: Mutex<State>

    /// Starts Dovecot with `users` (plain passwords) and waits until both ports accept connections.
    /// - Parameters:
    ///   - hierarchySeparator: "." (Maildir++ layout) or "/" (`LAYOUT=fs`).
    ///   - namespacePrefix: "" or "INBOX" + separator.
    ///   - extraConfiguration: appended to the generated dovecot.conf (e.g. `imap_capability = IMAP4rev1 IDLE` for
    ///     a server without LITERAL+); a later setting overrides an earlier one.
    public init(users: [(login: String, password: String)], hierarchySeparator: Character = "/",
                namespacePrefix: String = "", extraConfiguration: String = "") throws {
        guard access(Self.executable, X_OK) == 0 else { throw DovecotServerError.notInstalled(Self.executable) }
        guard geteuid() == 0 else { throw DovecotServerError.needsRoot }
        guard hierarchySeparator == "." || hierarchySeparator == "/" else {
            throw DovecotServerError.badArgument("hierarchy separator must be \".\" or \"/\", not \"\(hierarchySeparator)\"")
        }
        guard namespacePrefix.isEmpty || namespacePrefix == "INBOX" + String(hierarchySeparator) else {
            throw DovecotServerError.badArgument("namespace prefix must be \"\" or \"INBOX\(hierarchySeparator)\", not \"\(namespacePrefix)\"")
        }
        for user in users { try Self.validate(login: user.login, password: user.password) }
        guard let mailUser = getpwnam("mail") else { throw DovecotServerError.setup("no system user 'mail'") }
        let (mailUID, mailGID) = (mailUser.pointee.pw_uid, mailUser.pointee.pw_gid)

        Self.removeAbandonedInstances()
        self.hierarchySeparator = hierarchySeparator
        self.namespacePrefix = namespacePrefix
        directory = NSTemporaryDirectory() + "tern-dovecot-\(UUID().uuidString)"
        certificatePath = directory + "/cert.pem"
        keyPath = directory + "/key.pem"
        configPath = directory + "/dovecot.conf"
        logPath = directory + "/dovecot.log"
        outputPath = directory + "/dovecot.out"
        passwdPath = directory + "/passwd"

        let fileManager = FileManager.default
        do {
            for folder in ["", "/run", "/state", "/mail"] {
                try fileManager.createDirectory(atPath: directory + folder, withIntermediateDirectories: true)
                try fileManager.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory + folder)
            }
            guard chown(directory + "/mail", mailUID, mailGID) == 0 else {
                throw DovecotServerError.setup("chown mail \(directory)/mail: errno \(errno)")
            }
            try "\(getpid())\n".write(toFile: directory + "/owner.pid", atomically: true, encoding: .utf8)
            try SelfSignedCertificate.generate(hostname: "localhost", certificatePath: certificatePath, keyPath: keyPath)
            let digest = try Self.certificateDigest(pemPath: certificatePath)
            certificateSHA256Hex = digest.map { Self.hexByte($0) }.joined()
            certificateSHA256Fingerprint = digest.map { Self.hexByte($0).uppercased() }.joined(separator: ":")
            // passdb: passwd-file, re-read by Dovecot whenever it changes (addUser); userdb: static.
            let passwd = users.map { Self.passwdLine(login: $0.login, password: $0.password) }.joined()
            guard fileManager.createFile(atPath: passwdPath, contents: Data(passwd.utf8),
                                         attributes: [.posixPermissions: 0o644]) else {
                throw DovecotServerError.setup("cannot write \(passwdPath)")
            }
        } catch {
            try? fileManager.removeItem(atPath: directory)
            throw error
        }

        // A port taken between choosing it and Dovecot binding it makes the start fail: choose again.
        var lastError: any Error = DovecotServerError.didNotStart("no free ports", logTail: "")
        for _ in 0..<3 {
            do {
                let ports = try Self.freePorts(count: 2)
                for file in [logPath, outputPath] { try? fileManager.removeItem(atPath: file) }
                let config = Self.config(directory: directory, separator: hierarchySeparator, prefix: namespacePrefix,
                                         mailUID: mailUID, imapPort: ports[0], imapsPort: ports[1])
                    + extraConfiguration + "\n"
                try config.write(toFile: configPath, atomically: true, encoding: .utf8)
                let pid = try Self.spawn(config: configPath, output: outputPath)
                try Self.waitUntilListening(pid: pid, ports: ports, directory: directory)
                imapPort = ports[0]
                imapsPort = ports[1]
                state = Mutex(State(masterPID: pid, logins: Set(users.map(\.login))))
                return
            } catch {
                lastError = error
                guard case .didNotStart(_, let log)? = error as? DovecotServerError, log.contains("Address already in use")
                else { break }
            }
        }
        try? fileManager.removeItem(atPath: directory)
        throw lastError
    }

    deinit { stop() }

    /// The master's pid, which is also the process group of every Dovecot process of this server; nil once stopped.
    public var processGroupID: Int32? { state.withLock { $0.masterPID } }

    /// The pids of the processes in this server's process group now (the master and what it forked).
    public var processIDs: [Int32] {
        guard let group = processGroupID else { return [] }
        return Self.members(ofGroup: group)
    }

    /// Adds a user (plain password); Dovecot re-reads the passwd-file at the next login, no restart needed.
    /// Returns once the wall clock has moved to the next second (at most a second later): Dovecot looks at the
    /// file's mtime at most once per second, so a login tried earlier in the same second would hide the change.
    public func addUser(login: String, password: String) throws {
        try Self.validate(login: login, password: password)
        try state.withLock { state in
            guard !state.logins.contains(login) else { throw DovecotServerError.badArgument("user \(login) exists") }
            guard let handle = FileHandle(forWritingAtPath: passwdPath) else {
                throw DovecotServerError.setup("cannot open \(passwdPath)")
            }
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(Self.passwdLine(login: login, password: password).utf8))
            state.logins.insert(login)
        }
        let written = time(nil)
        while time(nil) <= written { usleep(10_000) }
    }

    /// The user's maildir (`~/Maildir`; INBOX is its top folder, other mailboxes as the layout says).
    public func maildirPath(of login: String) -> String { directory + "/mail/\(login)/Maildir" }

    /// The last `lines` lines of Dovecot's log and of the master's output.
    public func logTail(lines: Int = 40) -> String { Self.logTail(directory: directory, lines: lines) }

    /// Stops every process of this Dovecot and removes its folder. Idempotent; also run by deinit.
    public func stop() {
        state.withLock { state in
            guard let pid = state.masterPID else { return }
            state.masterPID = nil
            Self.terminate(group: pid)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Configuration

    private static func validate(login: String, password: String) throws {
        let forbidden: Set<Character> = [":", "\n", "\r", "/", "\0", "%"]
        guard !login.isEmpty, !login.contains(where: forbidden.contains), login != ".", login != ".." else {
            throw DovecotServerError.badArgument("login \(login.debugDescription) cannot be a passwd-file user name")
        }
        let forbiddenInPassword: Set<Character> = [":", "\n", "\r", "\0"]
        guard !password.contains(where: forbiddenInPassword.contains) else {
            throw DovecotServerError.badArgument("a passwd-file password cannot hold ':' or line ends")
        }
    }

    private static func passwdLine(login: String, password: String) -> String { "\(login):{PLAIN}\(password)\n" }

    private static func config(directory: String, separator: Character, prefix: String, mailUID: uid_t,
                               imapPort: UInt16, imapsPort: UInt16) -> String {
        // Maildir++ (".Archive.2023") cannot hold "." in a name, which "." as separator rules out anyway; with "/"
        // the fs layout (Archive/2023) allows "." in names.
        let layout = separator == "/" ? ":LAYOUT=fs" : ""
        return """
        # generated by Tests/TernTestSupport/DovecotServer.swift: a private Dovecot for tests, loopback only
        base_dir = \(directory)/run
        state_dir = \(directory)/state
        log_path = \(directory)/dovecot.log
        protocols = imap
        listen = 127.0.0.1
        ssl = yes
        ssl_cert = <\(directory)/cert.pem
        ssl_key = <\(directory)/key.pem
        disable_plaintext_auth = no
        auth_mechanisms = plain login
        auth_failure_delay = 0
        auth_verbose = yes
        default_internal_user = dovecot
        default_internal_group = dovecot
        default_login_user = dovenull
        first_valid_uid = \(mailUID)
        mail_location = maildir:~/Maildir\(layout)
        # test data in a temporary folder: no fsync per message
        mail_fsync = never
        namespace inbox {
          inbox = yes
          separator = \(separator)
          prefix = \(prefix)
          mailbox Sent {
            special_use = \\Sent
            auto = no
          }
          mailbox Drafts {
            special_use = \\Drafts
            auto = no
          }
          mailbox Junk {
            special_use = \\Junk
            auto = no
          }
        }
        passdb {
          driver = passwd-file
          args = \(directory)/passwd
        }
        userdb {
          driver = static
          args = uid=mail gid=mail home=\(directory)/mail/%u
        }
        protocol imap {
          mail_max_userip_connections = 100
        }
        # no growing delay for an address after failed logins (tests log in wrongly on purpose): the auth
        # process finds no penalty socket, logs that once, and skips the penalty
        service anvil {
          unix_listener anvil-auth-penalty {
            mode = 0
          }
        }
        service imap-login {
          inet_listener imap {
            address = 127.0.0.1
            port = \(imapPort)
          }
          inet_listener imaps {
            address = 127.0.0.1
            port = \(imapsPort)
            ssl = yes
          }
        }

        """
    }

    /// SHA-256 of the DER form of the first certificate in a PEM file.
    static func certificateDigest(pemPath: String) throws -> [UInt8] {
        let pem = try String(contentsOfFile: pemPath, encoding: .utf8)
        guard let begin = pem.range(of: "-----BEGIN CERTIFICATE-----"),
              let end = pem.range(of: "-----END CERTIFICATE-----", range: begin.upperBound..<pem.endIndex),
              let der = Base64.decode(String(pem[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }))
        else { throw DovecotServerError.setup("no certificate in \(pemPath)") }
        return Crypto.sha256(der)
    }

    private static func hexByte(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
    }

    // MARK: - Processes

    /// Starts `dovecot -F -c config` in a new process group; stdin is /dev/null, stdout and stderr go to `output`,
    /// and no other file descriptor of the test process is inherited.
    private static func spawn(config: String, output: String) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR1] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeInheritedDescriptors(&actions)

        let arguments = [executable, "-F", "-c", config]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, &argv, environ)
        guard result == 0 else { throw DovecotServerError.didNotStart("posix_spawn: errno \(result)", logTail: "") }
        return pid
    }

    /// Adds "close every descriptor from 3 up" to `actions`: glibc's posix_spawn_file_actions_addclosefrom_np (2.34+;
    /// Swift's Glibc module does not show it, so it is looked up), else one close per descriptor open now.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            let closeFrom = unsafeBitCast(symbol, to: CloseFrom.self)
            if closeFrom(&actions, 3) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap(Int32.init) where fd > 2 && fcntl(fd, F_GETFD) >= 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// Waits until both ports accept a connection (at most 10 s); if the master exits first, or the time runs out,
    /// stops what is left and throws with the log.
    private static func waitUntilListening(pid: pid_t, ports: [UInt16], directory: String) throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                terminate(group: pid, reaped: true)
                throw DovecotServerError.didNotStart("the master exited (status \(status))",
                                                     logTail: logTail(directory: directory, lines: 40))
            }
            if ports.allSatisfy(canConnect) { return }
            if ContinuousClock.now > deadline {
                terminate(group: pid)
                throw DovecotServerError.didNotStart("ports \(ports) not accepting after 10 s",
                                                     logTail: logTail(directory: directory, lines: 40))
            }
            usleep(5_000)
        }
    }

    /// Ends every process of the group `group` whose leader (the master) is `group`: SIGTERM, reap the master,
    /// then SIGKILL whatever is left after a grace period.
    private static func terminate(group: pid_t, reaped: Bool = false) {
        kill(-group, SIGTERM)
        var status: Int32 = 0
        if !reaped {
            let deadline = ContinuousClock.now + .seconds(5)
            while waitpid(group, &status, WNOHANG) == 0 {
                if ContinuousClock.now > deadline {
                    kill(-group, SIGKILL)
                    waitpid(group, &status, 0)
                    break
                }
                usleep(2_000)
            }
        }
        // The master waits for its children before exiting; anything still in the group is a straggler.
        let deadline = ContinuousClock.now + .seconds(2)
        while kill(-group, 0) == 0 {
            if ContinuousClock.now > deadline {
                kill(-group, SIGKILL)
                break
            }
            usleep(5_000)
        }
    }

    /// Pids whose process group is `group`, from /proc/<pid>/stat (field 5, after the parenthesized command).
    static func members(ofGroup group: pid_t) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 2 && pid_t(fields[2]) == group ? pid : nil
        }
    }

    private static func canConnect(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    /// `count` distinct ports that were free on 127.0.0.1 a moment ago (all bound at once, then released).
    private static func freePorts(count: Int) throws -> [UInt16] {
        var sockets: [Int32] = []
        defer { for fd in sockets { close(fd) } }
        var ports: [UInt16] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { throw DovecotServerError.setup("socket: errno \(errno)") }
            sockets.append(fd)
            var address = loopback(port: 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
                }
            }
            guard bound else { throw DovecotServerError.setup("bind 127.0.0.1:0: errno \(errno)") }
            ports.append(UInt16(bigEndian: address.sin_port))
        }
        return ports
    }

    private static func loopback(port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        return address
    }

    private static func logTail(directory: String, lines: Int) -> String {
        ["/dovecot.out", "/dovecot.log"].compactMap { name -> String? in
            guard let text = try? String(contentsOfFile: directory + name, encoding: .utf8), !text.isEmpty else { return nil }
            return "==> \(name.dropFirst()) <==\n" + text.split(separator: "\n", omittingEmptySubsequences: false)
                .suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// Stops Dovecots left behind by test processes that no longer exist (a crash skips deinit) and removes their
    /// folders. A master is only signalled if its command line names that folder's config.
    private static func removeAbandonedInstances() {
        let temporary = NSTemporaryDirectory()
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: temporary) else { return }
        for name in names where name.hasPrefix("tern-dovecot-") {
            let folder = temporary + name
            guard let owner = (try? String(contentsOfFile: folder + "/owner.pid", encoding: .utf8))
                .flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                  kill(owner, 0) != 0 && errno == ESRCH
            else { continue }
            if let master = (try? String(contentsOfFile: folder + "/run/master.pid", encoding: .utf8))
                .flatMap({ pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
               let commandLine = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(master)/cmdline")),
               String(decoding: commandLine, as: UTF8.self).contains(folder + "/dovecot.conf") {
                kill(-master, SIGTERM)
                for _ in 0..<200 where kill(master, 0) == 0 { usleep(10_000) }
            }
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
