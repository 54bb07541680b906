// WaqtorStore
