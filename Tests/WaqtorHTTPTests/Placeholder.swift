// WaqtorHTTPTests
