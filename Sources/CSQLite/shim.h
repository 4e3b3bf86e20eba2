#ifndef DISPATCHER_CSQLITE_SHIM_H
#define DISPATCHER_CSQLITE_SHIM_H

#include <sqlite3.h>

// SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import.
// Binding with it makes SQLite copy the bytes, so Swift buffers need not outlive the bind.
static inline sqlite3_destructor_type csqlite_transient(void) {
    return SQLITE_TRANSIENT;
}

// sqlite3_db_config is variadic, which Swift cannot call.
static inline int csqlite_disable_checkpoint_on_close(sqlite3 *db) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, (int *)0);
}

// Triggers of the main schema off (0) or on (1) for this connection only. SQLite decides
// whether a statement runs triggers when it prepares it, and changing the setting expires every
// prepared statement of the connection, so each is prepared again for the new setting.
static inline int csqlite_enable_triggers(sqlite3 *db, int enabled) {
    return sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, enabled, (int *)0);
}

#endif
