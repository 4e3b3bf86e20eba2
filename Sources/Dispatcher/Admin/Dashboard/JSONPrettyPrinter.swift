/// Re-indents JSON text for reading (two spaces a level), without parsing it into values: the
/// bytes of strings and numbers stay exactly as stored.
enum JSONPrettyPrinter {
    static func format(_ json: String) -> String {
        var output = ""
        var depth = 0
        var inString = false
        var escaped = false
        var emptyContainer = false
        func newline() {
            output += "\n" + String(repeating: "  ", count: depth)
        }
        for character in json {
            if inString {
                output.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
                continue
            }
            if emptyContainer, character != "}", character != "]", !character.isWhitespace {
                emptyContainer = false
                newline()
            }
            switch character {
            case "\"":
                inString = true
                output.append(character)
            case "{", "[":
                output.append(character)
                depth += 1
                emptyContainer = true
            case "}", "]":
                depth = max(0, depth - 1)
                if !emptyContainer { newline() }
                emptyContainer = false
                output.append(character)
            case ",":
                output.append(character)
                newline()
            case ":":
                output += ": "
            case _ where character.isWhitespace:
                continue
            default:
                output.append(character)
            }
        }
        return output
    }
}
