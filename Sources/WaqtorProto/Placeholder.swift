// WaqtorProto
