#if canImport(Glibc)
    import Glibc
#endif

/// glibc malloc settings for the long-running daemon.
///
/// By default glibc hands the free top of a thread's heap back to the kernel (`madvise`) as soon
/// as it exceeds 128 KiB, and the next allocation faults the pages in again, zeroed. The daemon's
/// database thread frees and reallocates its batches (claimed rows, completions) hundreds of times
/// a second, so without this a drain spends a large share of that thread's time in `madvise` and
/// page faults (`perf record` shows it; CHANGELOG has the figures).
/// Keeping up to 32 MiB of free heap per arena removes that churn; the steady heap is a few MiB,
/// so the resident size does not grow in practice. Large blocks keep their own mappings above
/// 4 MiB (setting the trim threshold would otherwise also freeze the mmap threshold at 128 KiB).
enum MallocTuning {
    static func applyForDaemon() {
        #if canImport(Glibc)
            // <malloc.h> is not part of the Glibc module; its constants are fixed by the ABI.
            let trimThreshold: Int32 = -1  // M_TRIM_THRESHOLD
            let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
            _ = glibcMallopt(trimThreshold, 32 << 20)
            _ = glibcMallopt(mmapThreshold, 4 << 20)
        #endif
    }
}

#if canImport(Glibc)
    /// `int mallopt(int param, int value)` from <malloc.h>.
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
