// WaqtorRPCTests
