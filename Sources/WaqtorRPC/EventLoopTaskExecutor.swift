import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// Tasks that prefer it (`withTaskExecutorPreference`, `TaskGroup.addTask(executorPreference:)`,
/// or ``RPCClient/withPreferredExecutor(_:)``) run their nonisolated code on the loop: an answer
/// read by the loop resumes the awaiting task there, without a hop through the global executor,
/// and the task's next call queues its frame from the loop itself. Code run this way blocks the
/// loop (and every connection on it) while it runs: it suits tasks that mostly await calls, not
/// long computations or blocking I/O.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop the jobs run on.
    public let eventLoop: any EventLoop

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        // Always through `execute`, also on the loop: a job must not run inside the code that
        // enqueued it. `execute` from the loop itself does not wake the selector.
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
