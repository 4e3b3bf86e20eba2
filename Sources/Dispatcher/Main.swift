import ArgumentParser
import WorkerPool

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The entry point: parse, run, and turn every error into one line on stderr and exit 1.
@main
enum Main {
    static func main() async {
        do {
            var command = try DispatcherCommand.parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            // Help and --version are "errors" that exit 0: let the parser print them in full.
            if DispatcherCommand.exitCode(for: error) == .success || error is CleanExit {
                DispatcherCommand.exit(withError: error)
            }
            switch error {
            case is any UserFacingError:
                Output.error("error: \(error)")
            default:
                Output.error("error: \(DispatcherCommand.message(for: error)) (see 'dispatcher help')")
            }
            exit(1)
        }
    }
}
