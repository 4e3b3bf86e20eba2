/// Writes JSON string literals into a byte buffer.
public enum JSONEscaping {
    /// Appends `string` as a quoted JSON string, escaping quotes, backslashes and control
    /// characters.
    public static func appendQuoted(_ string: String, to buffer: inout [UInt8]) {
        buffer.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                buffer.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                    hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default: buffer.append(byte)
            }
        }
        buffer.append(UInt8(ascii: "\""))
    }

    /// Whether `string` has a byte that `appendQuoted` would escape.
    public static func needsEscaping(_ string: String) -> Bool {
        // Over the contiguous UTF-8 (every native string has it): the generic walk of
        // `String.UTF8View` cost several times more for a method name on every call.
        var string = string
        return string.withUTF8 { bytes in
            bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
    }

    /// Returns `string` as a quoted JSON string.
    public static func quoted(_ string: String) -> String {
        var buffer = [UInt8]()
        buffer.reserveCapacity(string.utf8.count + 2)
        appendQuoted(string, to: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
