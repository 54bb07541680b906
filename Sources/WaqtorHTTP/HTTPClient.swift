import CCurl
import Foundation
import NIOConcurrencyHelpers

/// `curl_global_init` runs once per process, before the first handle (a Swift global is
/// initialised exactly once, thread-safely).
private let curlGlobalInit: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

/// An HTTP/1.1 client on libcurl's multi interface.
///
/// One dedicated thread per client drives a `curl_multi` handle: it runs every transfer
/// (non-blocking sockets, `curl_multi_poll`), so many requests are in flight without a thread
/// each, and connections are kept and reused across requests (per host up to
/// ``HTTPClientConfiguration/maxConnectionsPerHost``). Callers never block: ``execute(_:)`` hands
/// the transfer to the thread through a lock-protected queue, wakes it with `curl_multi_wakeup`,
/// and suspends until the thread resumes it. Cancelling the awaiting task removes the transfer.
///
/// Call ``shutdown()`` when done; it fails outstanding requests with ``HTTPClientError/shutdown``.
public final class HTTPClient: Sendable {
    /// The settings in use.
    public let configuration: HTTPClientConfiguration
    private let engine: CurlEngine

    /// Creates a client and starts its thread.
    public init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) {
        precondition(curlGlobalInit == CURLE_OK, "curl_global_init failed")
        self.configuration = configuration
        self.engine = CurlEngine(configuration: configuration)
        let engine = self.engine
        let thread = Thread { engine.run() }
        thread.name = "waqtor-http"
        thread.start()
    }

    deinit {
        engine.requestShutdown()
    }

    /// Performs a request. Any HTTP status is a response; errors are for when there is none.
    public func execute(_ request: HTTPRequest) async throws(HTTPClientError) -> HTTPResponse {
        let transfer = try CurlTransfer(id: engine.nextID(), request: request, configuration: configuration)
        let id = transfer.id
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                transfer.continuation = continuation
                engine.submit(transfer)
            }
        } onCancel: {
            engine.cancel(id)
        }
        engine.forget(id)
        return try result.get()
    }

    /// Stops the thread after failing every outstanding request with ``HTTPClientError/shutdown``,
    /// and waits for it to finish. Later requests fail the same way.
    public func shutdown() async {
        engine.requestShutdown()
        await engine.waitUntilFinished()
    }
}

/// The state shared between callers and the engine thread, and the thread's loop.
///
/// `@unchecked Sendable` invariant: `multi` and `active` are used only on the engine thread,
/// except `curl_multi_wakeup(multi)`, which libcurl documents as callable from any thread; the
/// multi handle stays valid until `deinit`, which runs only after the thread has exited (the
/// thread's closure holds a reference). Everything else callers touch is inside `shared`.
final class CurlEngine: @unchecked Sendable {
    private struct Shared {
        var nextID: UInt64 = 0
        /// Handed over, not yet added to the multi handle.
        var pending: [CurlTransfer] = []
        /// IDs handed over and not yet completed (pending or active).
        var submitted: Set<UInt64> = []
        /// Active transfers whose callers cancelled.
        var cancelRequests: [UInt64] = []
        /// Cancelled before being handed over.
        var cancelledEarly: Set<UInt64> = []
        var isShuttingDown = false
        var isFinished = false
        var finishWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let multi: UnsafeMutableRawPointer
    private let shared = NIOLockedValueBox(Shared())
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]  // engine thread only
    private var activeByID: [UInt64: CurlTransfer] = [:]  // engine thread only

    init(configuration: HTTPClientConfiguration) {
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed (out of memory)") }
        self.multi = multi
        _ = waqtor_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxConnectionsPerHost)
        _ = waqtor_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxConnections)
        _ = waqtor_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxConnections)
    }

    deinit {
        curl_multi_cleanup(multi)
    }

    func nextID() -> UInt64 {
        shared.withLockedValue { shared in
            shared.nextID &+= 1
            return shared.nextID
        }
    }

    /// Hands a transfer (with its continuation set) to the thread.
    func submit(_ transfer: CurlTransfer) {
        let rejection: HTTPClientError? = shared.withLockedValue { shared in
            if shared.isShuttingDown { return .shutdown }
            if shared.cancelledEarly.remove(transfer.id) != nil { return .cancelled }
            shared.pending.append(transfer)
            shared.submitted.insert(transfer.id)
            return nil
        }
        if let rejection {
            Self.resume(transfer, with: .failure(rejection))
        } else {
            curl_multi_wakeup(multi)
        }
    }

    /// The caller's task was cancelled.
    func cancel(_ id: UInt64) {
        let unqueued: CurlTransfer? = shared.withLockedValue { shared in
            if let index = shared.pending.firstIndex(where: { $0.id == id }) {
                shared.submitted.remove(id)
                return shared.pending.remove(at: index)
            }
            if shared.submitted.contains(id) {
                shared.cancelRequests.append(id)
            } else {
                shared.cancelledEarly.insert(id)
            }
            return nil
        }
        if let unqueued {
            Self.resume(unqueued, with: .failure(.cancelled))
        } else {
            curl_multi_wakeup(multi)
        }
    }

    /// Drops a cancellation marker that arrived after completion.
    func forget(_ id: UInt64) {
        shared.withLockedValue { _ = $0.cancelledEarly.remove(id) }
    }

    func requestShutdown() {
        let pending: [CurlTransfer] = shared.withLockedValue { shared in
            shared.isShuttingDown = true
            let pending = shared.pending
            shared.pending.removeAll()
            for transfer in pending { shared.submitted.remove(transfer.id) }
            return pending
        }
        pending.forEach { Self.resume($0, with: .failure(.shutdown)) }
        curl_multi_wakeup(multi)
    }

    func waitUntilFinished() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = shared.withLockedValue { shared in
                if shared.isFinished { return true }
                shared.finishWaiters.append(continuation)
                return false
            }
            if finished { continuation.resume() }
        }
    }

    /// The thread's loop: take new work and cancellations, drive transfers, report completions,
    /// sleep in `curl_multi_poll` until a socket is ready, a timer is due, or a wakeup.
    func run() {
        var running: Int32 = 0
        while true {
            let (newTransfers, cancellations, stopping) = shared.withLockedValue { shared in
                defer {
                    shared.pending.removeAll()
                    shared.cancelRequests.removeAll()
                }
                return (shared.pending, shared.cancelRequests, shared.isShuttingDown)
            }
            for transfer in newTransfers {
                let code = curl_multi_add_handle(multi, transfer.easy)
                if code == CURLM_OK {
                    active[transfer.easy] = transfer
                    activeByID[transfer.id] = transfer
                } else {
                    complete(transfer, .failure(.transport(code: Int(code.rawValue), message: String(cString: curl_multi_strerror(code)))), removeHandle: false)
                }
            }
            for id in cancellations {
                if let transfer = activeByID[id] { complete(transfer, .failure(.cancelled)) }
            }
            if stopping {
                for transfer in Array(activeByID.values) { complete(transfer, .failure(.shutdown)) }
                break
            }
            curl_multi_perform(multi, &running)
            var remaining: Int32 = 0
            while let message = curl_multi_info_read(multi, &remaining) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                      let transfer = active[easy]
                else { continue }
                let code = message.pointee.data.result
                complete(transfer, Self.outcome(code, transfer))
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
        let waiters: [CheckedContinuation<Void, Never>] = shared.withLockedValue { shared in
            shared.isFinished = true
            defer { shared.finishWaiters.removeAll() }
            return shared.finishWaiters
        }
        waiters.forEach { $0.resume() }
    }

    private func complete(_ transfer: CurlTransfer, _ result: Result<HTTPResponse, HTTPClientError>, removeHandle: Bool = true) {
        if removeHandle { curl_multi_remove_handle(multi, transfer.easy) }
        active[transfer.easy] = nil
        activeByID[transfer.id] = nil
        shared.withLockedValue { _ = $0.submitted.remove(transfer.id) }
        Self.resume(transfer, with: result)
    }

    private static func resume(_ transfer: CurlTransfer, with result: Result<HTTPResponse, HTTPClientError>) {
        let continuation = transfer.continuation
        transfer.continuation = nil
        continuation?.resume(returning: result)
    }

    private static func outcome(_ code: CURLcode, _ transfer: CurlTransfer) -> Result<HTTPResponse, HTTPClientError> {
        if code == CURLE_OK { return .success(transfer.response()) }
        let detail = transfer.errorMessage.isEmpty ? String(cString: curl_easy_strerror(code)) : transfer.errorMessage
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return .failure(.timeout)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return .failure(.connectionFailed(detail))
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return .failure(.invalidURL)
        case CURLE_WRITE_ERROR where transfer.bodyTooLarge:
            return .failure(.transport(code: Int(code.rawValue), message: "response body larger than maxResponseBodySize (\(transfer.maxBodySize) bytes)"))
        default:
            return .failure(.transport(code: Int(code.rawValue), message: detail))
        }
    }
}
