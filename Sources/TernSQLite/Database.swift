// The one owner of sqlite3 handles: open (WAL, busy timeout, foreign keys), prepared statements with typed binds
// and columns, transactions, and schema migrations by `PRAGMA user_version`.
//
// Invariants: a `Database` is used by one thread at a time (callers serialize; see `SharedDatabase`); statements
// are finalized before the database closes; every SQLite error is turned into `SQLiteError` with the code and the
// message read at once, before another call can change them.

internal import CTernSQLite
import Synchronization

public struct SQLiteError: Error, CustomStringConvertible, Equatable, Sendable {
    public let code: Int32
    public let message: String
    public let context: String

    public var description: String { "\(context): \(message) (SQLite code \(code))" }

    /// The constraint that failed (UNIQUE, FOREIGN KEY…): a user's mistake rather than the server's.
    public var isConstraintViolation: Bool { code & 0xff == SQLITE_CONSTRAINT }
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY || code & 0xff == SQLITE_LOCKED }
}

/// A value to bind or read.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

public protocol SQLiteBindable {
    var sqliteValue: SQLiteValue { get }
}

extension Int: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int64: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self) } }
extension String: SQLiteBindable { public var sqliteValue: SQLiteValue { .text(self) } }
extension Bool: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension Double: SQLiteBindable { public var sqliteValue: SQLiteValue { .real(self) } }
extension Array: SQLiteBindable where Element == UInt8 { public var sqliteValue: SQLiteValue { .blob(self) } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    public var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// One result row; columns by index.
public struct SQLiteRow: Sendable {
    public let values: [SQLiteValue]

    public func int(_ index: Int) -> Int64? {
        if case .integer(let value) = values[index] { return value }
        return nil
    }
    public func string(_ index: Int) -> String? {
        if case .text(let value) = values[index] { return value }
        return nil
    }
    public func bool(_ index: Int) -> Bool { int(index).map { $0 != 0 } ?? false }
    public func blob(_ index: Int) -> [UInt8]? {
        if case .blob(let value) = values[index] { return value }
        return nil
    }
}

public final class Database {
    private let handle: OpaquePointer
    private var statements: [String: OpaquePointer] = [:]
    public let path: String
    /// Commits are fsynced (`synchronous = FULL`) unless a caller asks for a relaxed one.
    public let durableCommits: Bool

    /// Opens (creating if needed) a database in WAL mode with a busy timeout, so several processes (ternd and
    /// ternctl) can write the same file safely.
    /// - Parameter durableCommits: fsync the WAL on every commit (`synchronous = FULL`), for indexes whose commit
    ///   is what acknowledges a delivery; otherwise a crash may lose the last commits but never corrupts.
    public init(path: String, busyTimeoutMilliseconds: Int32 = 5000, durableCommits: Bool = false) throws(SQLiteError) {
        var pointer: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &pointer, flags, nil)
        guard result == SQLITE_OK, let pointer else {
            let message = pointer.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let pointer { sqlite3_close_v2(pointer) }
            throw SQLiteError(code: result, message: message, context: "open \(path)")
        }
        handle = pointer
        self.path = path
        self.durableCommits = durableCommits
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        sqlite3_extended_result_codes(handle, 1)
        try execute("PRAGMA journal_mode = WAL")
        try execute(durableCommits ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        try execute("PRAGMA foreign_keys = ON")
        // Read the database file through a memory map instead of pread: in WAL mode every commit by another
        // connection empties a reader's page cache, so a busy store's reads went back to the kernel (one pread and
        // a copy per page) all the time. Only the file's size is mapped; WAL pages are still read from the WAL.
        try execute("PRAGMA mmap_size = \(Self.mmapBytes)")
    }

    /// The most of a database file read through the memory map (256 MB).
    static let mmapBytes = 256 << 20

    deinit {
        for statement in statements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    private func error(_ code: Int32, _ context: String) -> SQLiteError {
        SQLiteError(code: code, message: String(cString: sqlite3_errmsg(handle)), context: context)
    }

    /// Runs SQL that returns no rows (several statements allowed).
    public func execute(_ sql: String) throws(SQLiteError) {
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        guard result == SQLITE_OK else { throw error(result, sql) }
    }

    /// Runs one statement with parameters and returns all rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any SQLiteBindable] = []) throws(SQLiteError) -> [SQLiteRow] {
        let statement = try prepared(sql)
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for (index, parameter) in parameters.enumerated() {
            let position = Int32(index + 1)
            let result: Int32
            switch parameter.sqliteValue {
            case .null: result = sqlite3_bind_null(statement, position)
            case .integer(let value): result = sqlite3_bind_int64(statement, position, value)
            case .real(let value): result = sqlite3_bind_double(statement, position, value)
            case .text(let value): result = sqlite3_bind_text(statement, position, value, -1, c_tern_sqlite_transient())
            case .blob(let value):
                result = value.withUnsafeBytes {
                    sqlite3_bind_blob(statement, position, $0.baseAddress, Int32($0.count), c_tern_sqlite_transient())
                }
            }
            guard result == SQLITE_OK else { throw error(result, sql) }
        }
        var rows: [SQLiteRow] = []
        while true {
            let result = sqlite3_step(statement)
            if result == SQLITE_DONE { break }
            guard result == SQLITE_ROW else { throw error(result, sql) }
            let count = sqlite3_column_count(statement)
            var values: [SQLiteValue] = []
            values.reserveCapacity(Int(count))
            for column in 0..<count {
                switch sqlite3_column_type(statement, column) {
                case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(statement, column)))
                case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(statement, column)))
                case SQLITE_TEXT: values.append(.text(String(cString: sqlite3_column_text(statement, column))))
                case SQLITE_BLOB:
                    let length = Int(sqlite3_column_bytes(statement, column))
                    if let bytes = sqlite3_column_blob(statement, column) {
                        values.append(.blob(Array(UnsafeRawBufferPointer(start: bytes, count: length))))
                    } else {
                        values.append(.blob([]))
                    }
                default: values.append(.null)
                }
            }
            rows.append(SQLiteRow(values: values))
        }
        return rows
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Changes whenever another connection (another process) commits to this database; cheap to read.
    public func dataVersion() throws(SQLiteError) -> Int64 {
        try query("PRAGMA data_version").first?.int(0) ?? 0
    }

    /// Runs `body` in a write transaction (BEGIN IMMEDIATE: the write lock is taken up front, so two writers
    /// never deadlock on upgrade). Rolls back if `body` throws.
    public func transaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Like `transaction`, but committed without waiting for the disk (`synchronous = NORMAL` for this one commit):
    /// for changes that need not survive a power loss (flag changes, expunges — the message is kept either way),
    /// which then cost no fsync. A later durable commit makes them durable too; a crash never corrupts.
    public func relaxedTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("PRAGMA synchronous = NORMAL")
        defer { try? execute(durableCommits ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL") }
        return try transaction(body)
    }

    /// Runs `body` in a read transaction (BEGIN DEFERRED): every query sees the same snapshot of a WAL database,
    /// and writers are not blocked.
    public func readTransaction<R>(_ body: () throws -> R) throws -> R {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Brings the schema to `migrations.count` by running the missing steps in order, each in its transaction.
    /// Returns the version the file had before.
    @discardableResult
    public func migrate(_ migrations: [String]) throws -> Int {
        let current = Int(try query("PRAGMA user_version").first?.int(0) ?? 0)
        guard current <= migrations.count else {
            throw SQLiteError(code: SQLITE_ERROR, message: "schema version \(current) is newer than this program "
                              + "(\(migrations.count)); upgrade Tern", context: path)
        }
        for version in current..<migrations.count {
            try transaction {
                // Two processes opening a new database at once (ternd at a first login, ternctl migrating): the
                // write lock is held from here, and whoever comes second finds the step done.
                guard Int(try query("PRAGMA user_version").first?.int(0) ?? 0) == version else { return }
                try execute(migrations[version])
                try execute("PRAGMA user_version = \(version + 1)")
            }
        }
        return current
    }

    private func prepared(_ sql: String) throws(SQLiteError) -> OpaquePointer {
        if let statement = statements[sql] { return statement }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw error(result, sql) }
        statements[sql] = statement
        return statement
    }
}

/// A database shared by several threads, one at a time.
///
/// `@unchecked Sendable`: `database` is only reached through `withDatabase`, which holds `lock` for the whole call,
/// so no two threads ever use the handle at once.
public final class SharedDatabase: @unchecked Sendable {
    private let lock = Mutex(())
    private let database: Database

    public init(_ database: Database) { self.database = database }

    public func withDatabase<R>(_ body: (Database) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(database) }
    }
}
