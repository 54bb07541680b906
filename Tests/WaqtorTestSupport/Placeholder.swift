// WaqtorTestSupport
