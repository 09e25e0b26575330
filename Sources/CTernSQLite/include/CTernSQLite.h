// C shim for the system SQLite 3 (Debian libsqlite3-dev). Only TernSQLite imports this module.
#ifndef C_TERN_SQLITE_H
#define C_TERN_SQLITE_H
#include <sqlite3.h>

/// SQLITE_TRANSIENT is a macro cast of -1 to a function pointer and does not import into Swift.
static inline sqlite3_destructor_type c_tern_sqlite_transient(void) { return SQLITE_TRANSIENT; }
#endif
