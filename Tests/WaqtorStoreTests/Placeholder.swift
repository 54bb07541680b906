// WaqtorStoreTests
