/// What a job must hold before a transport may frame it, checked once per call by the worker and
/// at enqueue by the CLI (the same functions), so a row written by any other program (the SQL
/// path, a migration, a person with `sqlite3`) can never change what is sent.
///
/// | field             | rule                                                        |
/// |-------------------|-------------------------------------------------------------|
/// | `params`          | exactly one JSON value, an object or an array (or absent)   |
/// | `method`, key     | no control characters (they travel in headers and envelopes)|
///
/// Raw params pasted next to `"method"` could otherwise end the `params` value early and add
/// members of their own (`{"a":1},"method":"other"`), or send invalid JSON.
extension RPCJob {
    /// Why this job must not be sent, or nil when it may be: the message is stored as the job's
    /// `last_error`, and the job fails without a call.
    public var framingProblem: String? {
        if Self.containsControlCharacters(method.utf8) { return "method contains control characters" }
        if Self.containsControlCharacters(idempotencyKey.utf8) {
            return "idempotency key contains control characters"
        }
        guard let params else { return nil }
        return params.withUnsafeBytes { bytes -> String? in
            do {
                _ = try Self.validateParams(bytes)
                return nil
            } catch let error as RPCJobParamsError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
    }

    /// Checks that `bytes` are one JSON object or array (white space around it allowed) and
    /// returns the value's range.
    public static func validateParams(_ bytes: UnsafeRawBufferPointer) throws(RPCJobParamsError) -> Range<Int> {
        let value: Range<Int>
        do {
            value = try JSONScanner.validate(bytes)
        } catch {
            throw RPCJobParamsError(message: "params are not valid JSON: \(error)")
        }
        guard isObjectOrArray(UnsafeRawBufferPointer(rebasing: bytes[value])) else {
            throw RPCJobParamsError(message: "params must be a JSON object or array")
        }
        return value
    }

    /// Whether a valid JSON value is an object or an array (JSON-RPC 2.0's rule for `params`).
    public static func isObjectOrArray(_ value: UnsafeRawBufferPointer) -> Bool {
        value.first == UInt8(ascii: "{") || value.first == UInt8(ascii: "[")
    }

    /// Whether the text has a C0 control character or DEL.
    public static func containsControlCharacters(_ text: some Sequence<UInt8>) -> Bool {
        text.contains { $0 < 0x20 || $0 == 0x7F }
    }
}

/// Params that cannot be framed.
public struct RPCJobParamsError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}
