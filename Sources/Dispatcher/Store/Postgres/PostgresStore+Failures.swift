extension PostgresStore: StoreFailureClassifying {
    /// By the server's SQLSTATE, which statement errors keep (`StoreError`): class 53
    /// (insufficient resources: disk full, out of memory) and 25006 (a read-only transaction,
    /// e.g. a standby) refuse writes; 55P03 (lock not available) and 40P01 (deadlock) are lock
    /// trouble; anything else, chiefly a lost connection, is `unreachable`.
    func failure(of error: any Error) -> StoreFailure {
        guard case .sqlState(let state)? = (error as? StoreError)?.code else { return .unreachable }
        if state.hasPrefix("53") || state == "25006" { return .notWritable }
        if state == "55P03" || state == "40P01" { return .locked }
        return .unreachable
    }
}
