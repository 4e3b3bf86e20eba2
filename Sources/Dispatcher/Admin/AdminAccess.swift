import Synchronization

/// Who may use the dashboard, and the CSRF token its forms carry.
///
/// - With no admin token, the dashboard is open to whoever reaches the (loopback by default)
///   listener, like `/metrics`.
/// - With `--admin-token`, every dashboard page and action needs `Authorization: Bearer TOKEN`
///   or a session cookie from the login form (HttpOnly, SameSite=Strict). Sessions live in
///   memory: a restarted daemon asks for the token again.
/// - Every POST must carry the CSRF token, a random value made once per process and embedded in
///   each form. Another site cannot read it (same-origin policy), so it cannot forge an action
///   even in a logged-in browser.
final class AdminAccess: Sendable {
    /// The session cookie's name.
    static let cookieName = "dispatcher_session"
    /// Sessions kept at most; the oldest is dropped beyond it.
    static let maximumSessions = 1024

    let token: String?
    let csrfToken: String
    private let sessions = Mutex([String]())

    init(token: String?) {
        self.token = token
        self.csrfToken = Self.randomToken()
    }

    var requiresLogin: Bool { token != nil }

    /// Whether a request with these credentials may see the dashboard.
    func isAuthorized(authorization: String?, sessionCookie: String?) -> Bool {
        guard let token else { return true }
        if let authorization, authorization.hasPrefix("Bearer "),
            Self.constantTimeEquals(String(authorization.dropFirst("Bearer ".count)), token)
        {
            return true
        }
        if let sessionCookie {
            return sessions.withLock { list in list.contains { Self.constantTimeEquals($0, sessionCookie) } }
        }
        return false
    }

    /// Checks a login form's token; on success returns a new session id for the cookie.
    func logIn(with candidate: String) -> String? {
        guard let token, Self.constantTimeEquals(candidate, token) else { return nil }
        let session = Self.randomToken()
        sessions.withLock { list in
            list.append(session)
            if list.count > Self.maximumSessions { list.removeFirst(list.count - Self.maximumSessions) }
        }
        return session
    }

    func logOut(_ session: String?) {
        guard let session else { return }
        sessions.withLock { list in list.removeAll { $0 == session } }
    }

    /// Whether a submitted form carried this process's CSRF token.
    func isValidCSRF(_ candidate: String?) -> Bool {
        guard let candidate else { return false }
        return Self.constantTimeEquals(candidate, csrfToken)
    }

    /// 32 random bytes from the system generator, as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        return String((0..<64).map { _ in digits[Int(generator.next() % 16)] })
    }

    /// Compares without returning early, so response timing does not reveal how much of a
    /// guessed token was right.
    static func constantTimeEquals(_ first: String, _ second: String) -> Bool {
        let a = Array(first.utf8)
        let b = Array(second.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
