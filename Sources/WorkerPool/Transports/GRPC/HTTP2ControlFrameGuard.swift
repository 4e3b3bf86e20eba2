import NIOCore

/// Tells a server's ordinary PING and SETTINGS frames from a flood.
///
/// gRPC servers send PINGs for their own reasons: grpc-go and gRPC C-core estimate the
/// bandwidth-delay product with a PING after the DATA of (nearly) every response, and keepalive
/// pings arrive while a connection is idle. swift-nio-http2's own limit (by default 200 such
/// frames per 30 s, however they come) would close a busy worker's connection every couple of
/// hundred calls. This guard instead looks at what came between them:
///
/// | control frame (PING or SETTINGS, not an ACK)                  | counts |
/// |---------------------------------------------------------------|--------|
/// | the first after a HEADERS or DATA frame of a call             | no     |
/// | any other (nothing of a call since the previous one)          | yes: at most `limit` per `window` |
///
/// A free frame needs a frame of a call before it, and a connection carries one call at a time,
/// so free frames are bounded by the calls this client makes; a server that pings while idle
/// may do so about once a second for ever (`limit` 100 per 10 s by default), and one that sends
/// more is flooding: the connection is closed with ENHANCE_YOUR_CALM.
struct HTTP2ControlFrameGuard {
    /// Counted frames allowed per window.
    var limit = 100
    /// The length of the fixed window counted frames are counted in.
    var window = TimeAmount.seconds(10)

    private var callActivity = false
    private var windowStart: NIODeadline?
    private var counted = 0

    /// A HEADERS or DATA frame of a call arrived.
    mutating func callFrameReceived() {
        callActivity = true
    }

    /// A PING or SETTINGS frame (not an ACK) arrived at `now`. Returns false when it is one too
    /// many: the peer is flooding the connection.
    mutating func controlFrameReceived(at now: NIODeadline) -> Bool {
        if callActivity {
            callActivity = false
            return true
        }
        if let start = windowStart, now - start < window {
            counted += 1
        } else {
            windowStart = now
            counted = 1
        }
        return counted <= limit
    }
}
