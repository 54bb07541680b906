// WaqtorHTTP
