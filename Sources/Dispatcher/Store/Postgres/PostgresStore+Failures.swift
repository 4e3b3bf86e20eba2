extension PostgresStore: StoreFailureClassifying {
    /// Statement errors carry the server's SQLSTATE in their text (see `PostgresErrors.cause`):
    /// class 53 (insufficient resources: disk full, out of memory) and 25006 (a read-only
    /// transaction, e.g. a standby) refuse writes; 55P03 (lock not available) and 40P01
    /// (deadlock) are lock trouble; anything else, chiefly a lost connection, is `unreachable`.
    func failure(of error: any Error) -> StoreFailure {
        let text = "\(error)"
        guard let range = text.range(of: "(SQLSTATE ") else { return .unreachable }
        let state = text[range.upperBound...].prefix(5)
        if state.hasPrefix("53") || state == "25006" { return .notWritable }
        if state == "55P03" || state == "40P01" { return .locked }
        return .unreachable
    }
}
