/// Appends bytes to memory the caller has sized exactly, with no capacity checks.
///
/// A request is many small pieces (a header template, a key, a length, a method, params, an
/// id); written one by one into a `ByteBuffer`, each paid its own capacity check and
/// exclusivity check, some 200 instructions a piece. The framing instead measures the request,
/// reserves it once (`ByteBuffer.writeWithUnsafeMutableBytes`) and copies the pieces in here.
struct RawBytesWriter {
    private let start: UnsafeMutableRawPointer
    private let capacity: Int
    /// Bytes written so far.
    private(set) var count = 0

    init(_ destination: UnsafeMutableRawBufferPointer) {
        start = destination.baseAddress!
        capacity = destination.count
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        precondition(count + bytes.count <= capacity, "request measured too short")
        (start + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `value` in decimal, `Self.decimalLength(value)` bytes.
    mutating func append(decimal value: Int64) {
        let length = Self.decimalLength(value)
        precondition(count + length <= capacity, "request measured too short")
        var magnitude = value.magnitude
        var index = count + length
        repeat {
            index -= 1
            start.storeBytes(of: UInt8(ascii: "0") + UInt8(magnitude % 10), toByteOffset: index, as: UInt8.self)
            magnitude /= 10
        } while magnitude > 0
        if value < 0 { start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: count, as: UInt8.self) }
        count += length
    }

    /// The number of bytes `append(decimal:)` writes for `value`.
    static func decimalLength(_ value: Int64) -> Int {
        var magnitude = value.magnitude
        var length = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            length += 1
        }
        return length
    }
}
