// Every test file sees the shared helpers (`waitUntil`, `Locked`, `SplitMix64`).
@_exported import TestSupport
