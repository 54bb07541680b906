// WaqtorApp
