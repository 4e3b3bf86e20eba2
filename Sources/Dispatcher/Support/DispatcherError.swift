/// A user-facing error: one line on stderr and a non-zero exit.
struct DispatcherError: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
