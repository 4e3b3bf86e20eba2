/// Builds HTML text. Everything that did not come from this file's own literals goes through
/// `escape`, so a job's params, error or method can never become markup.
struct HTML {
    private(set) var text = ""

    /// Escapes text for element content and double- or single-quoted attribute values.
    static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    /// Percent-encodes a value for a URL path segment or query value.
    static func urlComponent(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%"
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return encoded
    }

    /// Appends trusted markup (a literal of this module).
    mutating func raw(_ markup: String) {
        text += markup
    }

    /// Appends untrusted text, escaped.
    mutating func text(_ value: String) {
        text += Self.escape(value)
    }

    /// `<tag attributes>escaped content</tag>`; attribute values are escaped.
    mutating func element(_ tag: String, _ attributes: [(String, String)] = [], _ content: String) {
        open(tag, attributes)
        text(content)
        raw("</\(tag)>")
    }

    /// `<tag attributes>` with escaped attribute values.
    mutating func open(_ tag: String, _ attributes: [(String, String)] = []) {
        raw("<\(tag)")
        for (name, value) in attributes {
            raw(" \(name)=\"\(Self.escape(value))\"")
        }
        raw(">")
    }
}
