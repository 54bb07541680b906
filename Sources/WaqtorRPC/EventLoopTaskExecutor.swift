import NIOConcurrencyHelpers
import NIOCore

/// A Swift `TaskExecutor` that runs jobs on one NIO event loop.
///
/// Tasks that prefer it (`withTaskExecutorPreference`, `TaskGroup.addTask(executorPreference:)`,
/// or ``RPCClient/withPreferredExecutor(_:)``) run their nonisolated code on the loop: an answer
/// read by the loop resumes the awaiting task there, without a hop through the global executor,
/// and the task's next call queues its frame from the loop itself. Code run this way blocks the
/// loop (and every connection on it) while it runs: it suits tasks that mostly await calls, not
/// long computations or blocking I/O.
///
/// Jobs are queued here and run in batches: the first job queued after a batch schedules one
/// event-loop task that runs every job queued by then, in order (the jobs that those jobs queue
/// go to the next batch). So the tasks resumed by one read of a socket cost one event-loop task,
/// not one each (each was an `execute` with a closure allocated for it).
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop the jobs run on.
    public let eventLoop: any EventLoop

    private struct Queue {
        var jobs: [UnownedJob] = []
        var scheduled = false
    }

    private let queue = NIOLockedValueBox(Queue())
    /// The array the last batch ran from, kept (empty) for its capacity; only used on the loop.
    private let spare: NIOLoopBoundBox<[UnownedJob]>

    public init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.spare = NIOLoopBoundBox.makeBoxSendingValue([], as: [UnownedJob].self, eventLoop: eventLoop)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        // Never run here, also on the loop: a job must not run inside the code that enqueued it.
        let job = UnownedJob(job)
        let schedule = queue.withLockedValue { queue in
            queue.jobs.append(job)
            guard !queue.scheduled else { return false }
            queue.scheduled = true
            return true
        }
        // `execute` from the loop itself does not wake the selector.
        if schedule { eventLoop.execute { self.runBatch() } }
    }

    /// On the loop: runs the jobs queued so far.
    private func runBatch() {
        var batch = spare.value
        spare.value = []
        queue.withLockedValue { queue in
            swap(&queue.jobs, &batch)
            queue.scheduled = false
        }
        let executor = asUnownedTaskExecutor()
        for job in batch {
            job.runSynchronously(on: executor)
        }
        batch.removeAll(keepingCapacity: true)
        spare.value = batch
    }

    public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
        UnownedTaskExecutor(ordinary: self)
    }
}
