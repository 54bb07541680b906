// WaqtorQueue
