import Foundation
import Testing

/// A small tmpfs mounted for one test, so the test can fill its file system; needs root (CI runs
/// as root). Unmounted by `unmount()` or, at the latest, when released; lazily (`umount -l`), so
/// a process still holding files in it cannot keep it mounted.
final class TmpfsMount: @unchecked Sendable {
    let path: String
    private let unmounted = Locked(false)

    /// Mounts a tmpfs of `megabytes` MiB at `path` (created when missing).
    init(at path: String, megabytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let status = Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        guard status == 0 else { throw DispatcherTestError("mount -t tmpfs at \(path) exited with \(status)") }
    }

    deinit {
        unmount()
    }

    func unmount() {
        let already = unmounted.withLock { done -> Bool in
            defer { done = true }
            return done
        }
        guard !already else { return }
        _ = Self.run("/bin/umount", ["-l", path])
    }

    /// Whether this machine lets the tests mount a tmpfs (root with CAP_SYS_ADMIN).
    static let isAvailable: Bool = {
        let probe = FileManager.default.temporaryDirectory.appendingPathComponent("tmpfs-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: probe) }
        guard let mount = try? TmpfsMount(at: probe.path, megabytes: 1) else { return false }
        mount.unmount()
        return true
    }()

    /// Fills the file system with one file until a write fails for want of space; returns its path.
    /// Bounded: at most a few thousand writes.
    func fill() throws -> String {
        let filler = path + "/filler"
        let descriptor = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw DispatcherTestError("cannot create \(filler): errno \(errno)") }
        defer { close(descriptor) }
        var chunk = 1 << 20
        var writes = 0
        let zeros = [UInt8](repeating: 0, count: chunk)
        while chunk >= 512 && writes < 10_000 {
            writes += 1
            let written = zeros.withUnsafeBytes { write(descriptor, $0.baseAddress, chunk) }
            if written < chunk { chunk /= 2 }
        }
        return filler
    }

    private static func run(_ executable: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
