import CSQLite

extension SQLiteStore: StoreFailureClassifying {
    /// SQLite's primary result codes: a full disk, a read-only file or an I/O error refuse
    /// writes; a lock held past the busy timeout is `locked`; everything else (a file that can
    /// no longer be opened, corruption) is `unreachable`.
    nonisolated func failure(of error: any Error) -> StoreFailure {
        guard case .sqlite(let code)? = (error as? StoreError)?.code else { return .unreachable }
        // The primary result code is the extended one's low byte.
        switch code & 0xff {
        case SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR, SQLITE_PERM: return .notWritable
        case SQLITE_BUSY, SQLITE_LOCKED: return .locked
        default: return .unreachable
        }
    }
}
