import WorkerPool

/// An error whose description is the whole message for the user: `dispatcher` prints it as the
/// one line on stderr (`error: …`) and exits 1. Others get the argument parser's message.
protocol UserFacingError: Error, CustomStringConvertible {}

/// A user-facing error: one line on stderr and a non-zero exit.
struct DispatcherError: UserFacingError {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension UpstreamURLError: UserFacingError {}
