/// Wake-ups on SQLite: the store's `WALWatcher` thread notices that the `-wal` file changed
/// (any process's commit writes to it) and `PRAGMA data_version`, plus this process's own write
/// counter, confirms that a commit happened since the mark. The watcher waits on inotify (a
/// `stat` per poll interval only where inotify is unavailable), so an idle daemon costs next to
/// nothing, whatever the number of queues.
struct SQLiteChangeNotifier: ChangeNotifier {
    let store: SQLiteStore

    func mark() async -> ChangeMark {
        (try? await store.changeMark()) ?? ChangeMark(generation: store.watcher.broadcast.generation)
    }

    func wait(after mark: ChangeMark) async {
        var generation = mark.generation
        while !Task.isCancelled {
            await store.watcher.broadcast.wait(after: generation)
            generation = store.watcher.broadcast.generation
            if Task.isCancelled { return }
            guard let counter = try? await store.changeCounter() else { return }
            if counter != mark.detail { return }
        }
    }
}
