#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which file a path names: its device and inode.
///
/// A daemon's SQLite connection keeps the file it opened, whatever happens to the path later. If
/// the file is removed (`rm dispatcher.db*`) or another file is renamed over it (a redeploy that
/// swaps the database), the daemon would go on working on a file nobody else can see while new
/// jobs land in the new one. Comparing the identity taken at open with the path's current one
/// tells the two apart.
struct DatabaseFileIdentity: Sendable, Equatable {
    var device: UInt64
    var inode: UInt64

    /// What became of the opened file's path.
    enum Change: Sendable, Equatable {
        /// Nothing is at the path any more.
        case removed
        /// Another file is at the path.
        case replaced

        /// As the log line says it.
        var description: String {
            switch self {
            case .removed: "removed"
            case .replaced: "replaced by another file"
            }
        }
    }

    /// The identity of the file at `path` now, or the `errno` of `stat`.
    static func current(path: String) -> Result<DatabaseFileIdentity, Errno> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(Errno(rawValue: errno)) }
        return .success(DatabaseFileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }

    /// What changed, judging the path's current state against this (the opened file's) identity;
    /// nil while the path still names the opened file, or when `stat` failed for a reason that
    /// says nothing about the file (the next check will tell).
    func change(given current: Result<DatabaseFileIdentity, Errno>) -> Change? {
        switch current {
        case .success(let identity):
            return identity == self ? nil : .replaced
        case .failure(let error):
            // ENOTDIR: a folder on the path was replaced by a file.
            return error.rawValue == ENOENT || error.rawValue == ENOTDIR ? .removed : nil
        }
    }

    /// `stat`'s errno.
    struct Errno: Error, Sendable, Equatable {
        var rawValue: Int32
    }
}
