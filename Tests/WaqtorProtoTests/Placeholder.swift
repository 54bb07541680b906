// WaqtorProtoTests
