/// The outcome of a call: gRPC's canonical status codes (0-16) and a message a person can act on.
///
/// The numeric values are the wire values (see docs/PROTOCOL.md), identical to gRPC's.
public struct RPCStatusCode: Hashable, Sendable, CustomStringConvertible {
    /// The value carried on the wire.
    public let rawValue: UInt8

    /// Wraps a wire value. Values above 16 are kept as they are and described as UNKNOWN(n); a
    /// client maps them to ``unknown`` when it needs a known code.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// 0: the call succeeded.
    public static let ok = RPCStatusCode(rawValue: 0)
    /// 1: the caller cancelled the call.
    public static let cancelled = RPCStatusCode(rawValue: 1)
    /// 2: an error with no better code.
    public static let unknown = RPCStatusCode(rawValue: 2)
    /// 3: the request is invalid whatever the state of the system.
    public static let invalidArgument = RPCStatusCode(rawValue: 3)
    /// 4: the deadline passed before the call finished.
    public static let deadlineExceeded = RPCStatusCode(rawValue: 4)
    /// 5: the requested entity does not exist (or is not the caller's to see).
    public static let notFound = RPCStatusCode(rawValue: 5)
    /// 6: the entity the caller tried to create already exists.
    public static let alreadyExists = RPCStatusCode(rawValue: 6)
    /// 7: the caller is known but may not do this.
    public static let permissionDenied = RPCStatusCode(rawValue: 7)
    /// 8: a limit was reached (frame size, calls in flight, a plan's quota, a rate limit).
    public static let resourceExhausted = RPCStatusCode(rawValue: 8)
    /// 9: the system is not in a state in which the operation can run.
    public static let failedPrecondition = RPCStatusCode(rawValue: 9)
    /// 10: a concurrency conflict; retry at a higher level.
    public static let aborted = RPCStatusCode(rawValue: 10)
    /// 11: a value is outside the valid range.
    public static let outOfRange = RPCStatusCode(rawValue: 11)
    /// 12: the method does not exist on this server.
    public static let unimplemented = RPCStatusCode(rawValue: 12)
    /// 13: a bug or broken invariant in the server.
    public static let internalError = RPCStatusCode(rawValue: 13)
    /// 14: the service is unavailable for now (shutting down, a dependency down); retry later.
    public static let unavailable = RPCStatusCode(rawValue: 14)
    /// 15: unrecoverable data loss.
    public static let dataLoss = RPCStatusCode(rawValue: 15)
    /// 16: no valid credential was presented.
    public static let unauthenticated = RPCStatusCode(rawValue: 16)

    /// Every canonical code, in wire order.
    public static let allCases: [RPCStatusCode] = (0...16).map { RPCStatusCode(rawValue: UInt8($0)) }

    /// The upper-snake name used in docs and by the CLI, e.g. `DEADLINE_EXCEEDED`.
    public var name: String {
        switch rawValue {
        case 0: "OK"
        case 1: "CANCELLED"
        case 2: "UNKNOWN"
        case 3: "INVALID_ARGUMENT"
        case 4: "DEADLINE_EXCEEDED"
        case 5: "NOT_FOUND"
        case 6: "ALREADY_EXISTS"
        case 7: "PERMISSION_DENIED"
        case 8: "RESOURCE_EXHAUSTED"
        case 9: "FAILED_PRECONDITION"
        case 10: "ABORTED"
        case 11: "OUT_OF_RANGE"
        case 12: "UNIMPLEMENTED"
        case 13: "INTERNAL"
        case 14: "UNAVAILABLE"
        case 15: "DATA_LOSS"
        case 16: "UNAUTHENTICATED"
        default: "UNKNOWN(\(rawValue))"
        }
    }

    public var description: String { name }
}

/// An error that crosses the wire: a status code, a message, and optional trailing metadata.
///
/// Handlers throw it (or anything conforming to ``RPCErrorConvertible``) to choose the status the
/// caller sees; anything else they throw becomes INTERNAL with a generic message, so that nothing
/// internal (SQL, paths, secrets) leaks to a caller. Clients throw it for every failed call.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The status code; never ``RPCStatusCode/ok``.
    public var code: RPCStatusCode
    /// A message for a person: what went wrong and what to do about it.
    public var message: String
    /// Metadata the server attached to the failed call (for example `retry-after-ms`).
    public var metadata: Metadata

    public init(code: RPCStatusCode, message: String, metadata: Metadata = [:]) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public var description: String { "\(code.name): \(message)" }
}

/// A domain error that chooses its own wire status.
public protocol RPCErrorConvertible: Error {
    /// The status and message the caller should see.
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
