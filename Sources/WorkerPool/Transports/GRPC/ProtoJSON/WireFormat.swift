/// The protobuf wire types (the low three bits of a field's tag).
enum WireType: UInt8 {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case startGroup = 3
    case endGroup = 4
    case fixed32 = 5
}

/// Why a binary protobuf message could not be read.
struct WireFormatError: Error, Sendable {
    var message: String
}

/// Reads protobuf's binary wire format from a byte array, one field at a time.
///
/// Every read is bounds-checked: truncated or hostile input throws `WireFormatError` instead of
/// trapping, and nested messages are read through sub-readers over their own byte range.
struct WireReader {
    let bytes: [UInt8]
    private(set) var index: Int
    let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
        self.end = bytes.count
    }

    init(_ bytes: [UInt8], range: Range<Int>) {
        self.bytes = bytes
        self.index = range.lowerBound
        self.end = range.upperBound
    }

    var isAtEnd: Bool { index >= end }

    /// Calls `field` with the number and payload range of each length-delimited field from here
    /// to the end, skipping fields of the other wire types (which a descriptor's strings, nested
    /// messages and options never are). Reads a copy: this reader stays where it is.
    func forEachLengthDelimited(
        _ field: (_ number: Int, _ payload: Range<Int>) throws(WireFormatError) -> Void
    ) throws(WireFormatError) {
        var reader = self
        while !reader.isAtEnd {
            let (number, wireType) = try reader.readTag()
            guard wireType == .lengthDelimited else {
                try reader.skip(wireType)
                continue
            }
            try field(number, try reader.readLengthDelimited())
        }
    }

    /// Reads the next tag: the field number and its wire type.
    mutating func readTag() throws(WireFormatError) -> (number: Int, wireType: WireType) {
        let tag = try readVarint()
        guard let wireType = WireType(rawValue: UInt8(tag & 7)) else {
            throw WireFormatError(message: "invalid wire type \(tag & 7)")
        }
        let number = tag >> 3
        guard number >= 1, number <= 536_870_911 else {
            throw WireFormatError(message: "invalid field number \(number)")
        }
        return (Int(number), wireType)
    }

    mutating func readVarint() throws(WireFormatError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < end else { throw WireFormatError(message: "truncated varint") }
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 { throw WireFormatError(message: "varint longer than 64 bits") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw WireFormatError(message: "varint longer than 10 bytes") }
        }
    }

    mutating func readFixed32() throws(WireFormatError) -> UInt32 {
        guard end - index >= 4 else { throw WireFormatError(message: "truncated fixed32") }
        var value: UInt32 = 0
        for offset in 0..<4 { value |= UInt32(bytes[index + offset]) << (8 * UInt32(offset)) }
        index += 4
        return value
    }

    mutating func readFixed64() throws(WireFormatError) -> UInt64 {
        guard end - index >= 8 else { throw WireFormatError(message: "truncated fixed64") }
        var value: UInt64 = 0
        for offset in 0..<8 { value |= UInt64(bytes[index + offset]) << (8 * UInt64(offset)) }
        index += 8
        return value
    }

    /// Reads a length prefix and returns the byte range it covers.
    mutating func readLengthDelimited() throws(WireFormatError) -> Range<Int> {
        let length = try readVarint()
        guard length <= UInt64(end - index) else { throw WireFormatError(message: "truncated length-delimited field") }
        let range = index..<(index + Int(length))
        index = range.upperBound
        return range
    }

    /// Skips the value of a field of `wireType` (groups included, as they may appear in old data).
    mutating func skip(_ wireType: WireType, depth: Int = 0) throws(WireFormatError) {
        switch wireType {
        case .varint: _ = try readVarint()
        case .fixed64: _ = try readFixed64()
        case .fixed32: _ = try readFixed32()
        case .lengthDelimited: _ = try readLengthDelimited()
        case .startGroup:
            guard depth < 100 else { throw WireFormatError(message: "groups nested too deeply") }
            while true {
                guard !isAtEnd else { throw WireFormatError(message: "unterminated group") }
                let (_, inner) = try readTag()
                if inner == .endGroup { return }
                try skip(inner, depth: depth + 1)
            }
        case .endGroup: throw WireFormatError(message: "unexpected end-group tag")
        }
    }

    func slice(_ range: Range<Int>) -> ArraySlice<UInt8> { bytes[range] }

    func string(_ range: Range<Int>) throws(WireFormatError) -> String {
        guard let value = String(validating: bytes[range], as: UTF8.self) else {
            throw WireFormatError(message: "string is not valid UTF-8")
        }
        return value
    }
}

/// Appends protobuf's binary wire format to a byte array.
struct WireWriter {
    var bytes: [UInt8] = []

    mutating func writeTag(_ number: Int, _ wireType: WireType) {
        writeVarint(UInt64(number) << 3 | UInt64(wireType.rawValue))
    }

    mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func writeFixed32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func writeFixed64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func writeLengthDelimited(_ number: Int, _ payload: some Collection<UInt8>) {
        writeTag(number, .lengthDelimited)
        writeVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }
}

/// ZigZag encoding of signed integers (`sint32`, `sint64`).
enum ZigZag {
    static func encode(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
    static func decode(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }
}
