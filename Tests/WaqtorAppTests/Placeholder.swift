// WaqtorAppTests
