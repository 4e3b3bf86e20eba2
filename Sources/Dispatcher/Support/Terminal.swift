#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The controlling terminal in "live view" mode: no echo, keys read one by one, the cursor
/// hidden, the alternate screen in use. `restore()` puts everything back as it was.
final class Terminal {
    private var original = termios()
    private var active = false

    /// ANSI sequences the live view uses.
    enum Sequence {
        static let enterAlternateScreen = "\u{1B}[?1049h"
        static let leaveAlternateScreen = "\u{1B}[?1049l"
        static let hideCursor = "\u{1B}[?25l"
        static let showCursor = "\u{1B}[?25h"
        static let home = "\u{1B}[H"
        static let clearBelow = "\u{1B}[J"
        static let clearLine = "\u{1B}[K"
    }

    static var isInteractive: Bool { isatty(0) == 1 && isatty(1) == 1 }

    /// Switches the terminal into live-view mode.
    func enter() throws {
        guard tcgetattr(0, &original) == 0 else {
            throw DispatcherError("cannot read the terminal's settings: \(String(cString: strerror(errno)))")
        }
        var raw = original
        // Keys arrive one at a time without echo; Ctrl-C arrives as byte 3 (ISIG off), so the
        // view can restore the terminal before it exits instead of dying mid-frame.
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(0, TCSANOW, &raw) == 0 else {
            throw DispatcherError("cannot set up the terminal: \(String(cString: strerror(errno)))")
        }
        active = true
        Output.write(Sequence.enterAlternateScreen + Sequence.hideCursor)
    }

    /// Puts the terminal back as `enter()` found it.
    func restore() {
        guard active else { return }
        active = false
        Output.write(Sequence.showCursor + Sequence.leaveAlternateScreen)
        tcsetattr(0, TCSANOW, &original)
    }

    /// Waits up to `milliseconds` for a key; returns it, or nil on time-out.
    func readKey(timeoutMilliseconds: Int32) -> UInt8? {
        var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeoutMilliseconds) > 0 else { return nil }
        var byte: UInt8 = 0
        return read(0, &byte, 1) == 1 ? byte : nil
    }

    deinit {
        restore()
    }
}
