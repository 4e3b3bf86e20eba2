/// Why a JSON value does not fit a message (or a binary message is not valid), naming the field
/// path where that was found: `params.items[2].count: value out of range for int32`.
public struct ProtoJSONError: Error, CustomStringConvertible, Sendable {
    /// The field path, starting at the root name the caller chose (`params`, `result`).
    public var path: String
    /// What is wrong at that path.
    public var message: String

    public var description: String { "\(path): \(message)" }
}

/// The path of the value being converted, kept as components and rendered only for an error.
struct FieldPath {
    enum Component {
        case field(String)
        case index(Int)
        case key(String)
    }

    var root: String
    var components: [Component] = []

    mutating func push(_ component: Component) { components.append(component) }
    mutating func pop() { components.removeLast() }

    var rendered: String {
        var text = root
        for component in components {
            switch component {
            case .field(let name): text += text.isEmpty ? name : "." + name
            case .index(let index): text += "[\(index)]"
            case .key(let key): text += "[" + JSONEscaping.quoted(key) + "]"
            }
        }
        return text
    }

    func error(_ message: String) -> ProtoJSONError {
        ProtoJSONError(path: rendered, message: message)
    }
}
