import CoreMetrics
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The length-prefixed TCP RPC server (docs/PROTOCOL.md).
///
/// ```swift
/// var router = RPCRouter()
/// MyHealthService().register(into: &router)
/// let server = RPCServer(configuration: .init(port: 7420), router: router, logger: logger)
/// try await server.start()
/// ...
/// await server.shutdown()   // GOAWAY, let calls in flight finish, close
/// ```
public final class RPCServer: Sendable {
    public let configuration: RPCServerConfiguration
    private let methods: MethodTable
    private let logger: Logger
    private let group: any EventLoopGroup
    /// Begun by ``shutdown()``: streaming handlers learn of the drain through their context.
    public let drain = ServerDrain()

    private struct State {
        var listener: (any Channel)?
        var connections: [ObjectIdentifier: any Channel] = [:]
        var nextConnectionID: UInt64 = 0
        var shuttingDown = false
        var closedWaiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - eventLoopGroup: defaults to NIO's shared multi-threaded group (one loop per core).
    ///   - metrics: where the server's metrics go (``ServerMetrics`` lists them); nil: none.
    public init(
        configuration: RPCServerConfiguration, router: RPCRouter, logger: Logger,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, metrics: (any MetricsFactory)? = nil
    ) {
        self.configuration = configuration
        self.methods = MethodTable(router: router, metrics: metrics.map(ServerMetrics.init))
        self.logger = logger
        self.group = eventLoopGroup
    }

    /// The port the server listens on (useful with port 0), once started.
    public var localPort: Int? {
        state.withLockedValue { $0.listener?.localAddress?.port }
    }

    /// Binds and starts accepting connections.
    public func start() async throws {
        let configuration = self.configuration
        let methods = self.methods
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 256 * 1024, high: 1024 * 1024))
            .childChannelInitializer { [self] channel in
                guard let connectionID = self.admit(channel) else {
                    return channel.close()
                }
                return channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // Stops reading from a client while its answers are not being taken (the
                    // channel is not writable), so that a client that sends without reading
                    // cannot grow the server's memory without bound.
                    try sync.addHandler(BackPressureHandler())
                    try sync.addHandler(ServerConnectionHandler(
                        configuration: configuration, methods: methods, connectionID: connectionID, logger: logger,
                        drain: self.drain))
                }
            }
        let listener = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        state.withLockedValue { $0.listener = listener }
        logger.info("rpc server listening", metadata: ["address": "\(configuration.host):\(listener.localAddress?.port ?? 0)"])
    }

    /// Registers a new connection, or returns nil when the server is full or stopping.
    private func admit(_ channel: any Channel) -> UInt64? {
        let key = ObjectIdentifier(channel)
        let id: UInt64? = state.withLockedValue { state in
            guard !state.shuttingDown, state.connections.count < configuration.maxConnections else { return nil }
            state.nextConnectionID += 1
            state.connections[key] = channel
            return state.nextConnectionID
        }
        guard id != nil else {
            logger.warning("refusing a connection", metadata: ["reason": "server full or shutting down"])
            return nil
        }
        channel.closeFuture.whenComplete { [self] _ in
            let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
                state.connections[key] = nil
                guard state.shuttingDown, state.connections.isEmpty, state.listener == nil else { return [] }
                defer { state.closedWaiters = [] }
                return state.closedWaiters
            }
            for waiter in waiters { waiter.resume() }
        }
        return id
    }

    /// Stops accepting connections, sends GOAWAY on every connection, lets calls in flight finish
    /// (new calls get UNAVAILABLE), and returns when every connection is closed or, after
    /// ``RPCServerConfiguration/shutdownGracePeriod``, closes the remaining ones.
    public func shutdown() async {
        let (listener, connections): ((any Channel)?, [any Channel]) = state.withLockedValue { state in
            state.shuttingDown = true
            return (state.listener, Array(state.connections.values))
        }
        logger.info("rpc server draining", metadata: ["connections": "\(connections.count)"])
        drain.begin()
        try? await listener?.close()
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            state.listener = nil
            guard state.connections.isEmpty else { return [] }
            defer { state.closedWaiters = [] }
            return state.closedWaiters
        }
        for waiter in waiters { waiter.resume() }
        for connection in connections {
            connection.pipeline.fireUserInboundEventTriggered(RPCServerEvent.gracefulShutdown)
        }
        let grace = configuration.shutdownGracePeriod
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.waitUntilClosed(); return true }
            // Over when the grace period ends, or at once when the shutdown itself is cancelled (a
            // second signal): either way the remaining connections are closed now. Closing them
            // completes `waitUntilClosed`, so the group always ends.
            group.addTask { try? await Task.sleep(for: grace); return false }
            let closedInTime = await group.next()!
            if !closedInTime {
                let remaining = state.withLockedValue { Array($0.connections.values) }
                if Task.isCancelled {
                    logger.warning("shutdown cancelled; closing connections now", metadata: ["connections": "\(remaining.count)"])
                } else {
                    logger.warning("grace period over; closing connections", metadata: ["connections": "\(remaining.count)"])
                }
                for connection in remaining {
                    connection.pipeline.fireUserInboundEventTriggered(RPCServerEvent.forceClose)
                }
            }
            // Ends the grace timer if everything closed in time; otherwise waits for the forced closes.
            group.cancelAll()
        }
        logger.info("rpc server stopped")
    }

    /// Returns once the listener and every connection are closed after ``shutdown()`` began.
    public func waitUntilClosed() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLockedValue { state -> Bool in
                if state.shuttingDown, state.listener == nil, state.connections.isEmpty { return true }
                state.closedWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
