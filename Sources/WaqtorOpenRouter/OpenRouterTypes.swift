/// A chat message sent to the model.
public struct OpenRouterMessage: Sendable, Hashable, Codable {
    /// `system`, `user` or `assistant`.
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A chat-completions request (`POST /chat/completions`), without the parts the client always
/// sets itself: `provider.data_collection: "deny"` (only providers that neither store nor train
/// on prompts) and no `user` field, so that no request can identify a person.
public struct OpenRouterRequest: Sendable, Hashable {
    /// The model to use, then the ones OpenRouter tries in order when it is unavailable (sent as
    /// `model` and `models`).
    public var models: [String]
    public var messages: [OpenRouterMessage]
    /// Structured output: `response_format: {type: json_schema, json_schema: {name, strict: true, schema}}`.
    public var jsonSchema: (name: String, schema: JSONValue)? {
        get { schemaName.map { ($0, schema ?? .object([:])) } }
        set { schemaName = newValue?.name; schema = newValue?.schema }
    }
    private var schemaName: String?
    private var schema: JSONValue?
    public var temperature: Double?
    public var maxTokens: Int?

    public init(models: [String], messages: [OpenRouterMessage], jsonSchema: (name: String, schema: JSONValue)? = nil,
                temperature: Double? = nil, maxTokens: Int? = nil) {
        self.models = models
        self.messages = messages
        self.schemaName = jsonSchema?.name
        self.schema = jsonSchema?.schema
        self.temperature = temperature
        self.maxTokens = maxTokens
    }

    /// The request body as OpenRouter reads it.
    public var body: JSONValue {
        var object: [String: JSONValue] = [
            "messages": .array(messages.map { .object(["role": .string($0.role), "content": .string($0.content)]) }),
            // Route only to providers that do not collect (store or train on) prompts, and only to
            // those that honour every parameter sent (the structured output above all).
            "provider": .object(["data_collection": .string("deny"), "require_parameters": .bool(true)]),
            "stream": .bool(false),
        ]
        if let first = models.first {
            object["model"] = .string(first)
            if models.count > 1 { object["models"] = .array(models.map { .string($0) }) }
        }
        if let schemaName {
            object["response_format"] = .object([
                "type": .string("json_schema"),
                "json_schema": .object(["name": .string(schemaName), "strict": .bool(true), "schema": schema ?? .object([:])]),
            ])
        }
        if let temperature { object["temperature"] = .number(temperature) }
        if let maxTokens { object["max_tokens"] = .number(Double(maxTokens)) }
        return .object(object)
    }

    public static func == (a: OpenRouterRequest, b: OpenRouterRequest) -> Bool { a.body == b.body }
    public func hash(into hasher: inout Hasher) { hasher.combine(body) }
}

/// Token counts and the charge of one provider call (`usage`).
public struct OpenRouterUsage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    /// In OpenRouter's credits (US dollars), as a decimal number ("0.00000575"); "0" if absent.
    public var cost: String

    public init(promptTokens: Int = 0, completionTokens: Int = 0, totalTokens: Int = 0, cost: String = "0") {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens
        self.cost = cost
    }
}

/// A chat-completions answer.
public struct OpenRouterCompletion: Sendable, Hashable {
    /// The generation id (`gen-…`).
    public var id: String
    /// The model that answered, as OpenRouter names it (a fallback, or a dated id).
    public var model: String
    /// The first choice's message content.
    public var content: String
    /// `stop`, `length`, `content_filter`, … (OpenRouter's normalised value).
    public var finishReason: String
    public var usage: OpenRouterUsage
    /// HTTP attempts it took (transient failures retried before it).
    public var attempts: Int
}
