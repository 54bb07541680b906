// WaqtorQueueTests
