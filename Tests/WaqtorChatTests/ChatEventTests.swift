import Foundation
import Testing
import WaqtorChat

@Suite("Chat: the webhook message parser, opt-out words and media types (pure)")
struct ChatEventTests {
    static func envelope(_ data: [String: Any], event: String = "messages.upsert") -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: ["event": event, "instance": "wq-x", "data": data]))
    }

    @Test("2.3.6's shapes: a LID with its phone in remoteJidAlt, a quote in the top-level contextInfo, fileLength as a Long")
    func shapes() throws {
        let event = try ChatEventParser.parse(envelope: Self.envelope([
            "key": ["remoteJid": "201234567890123@lid", "remoteJidAlt": "5511988887777@s.whatsapp.net", "fromMe": false, "id": "3EB0X", "addressingMode": "lid"],
            "pushName": "Maria", "status": "DELIVERY_ACK", "messageTimestamp": 1_764_000_000,
            "message": ["imageMessage": ["mimetype": "image/jpeg", "caption": "foto", "fileLength": ["low": 5, "high": 1, "unsigned": true]]],
            "contextInfo": ["stanzaId": "3EB0Q"],
        ]))
        #expect(event.messageID == "3EB0X")
        #expect(event.phoneDigits == "5511988887777")
        #expect(event.lid == "201234567890123@lid")
        #expect(event.content.kind == .image)
        #expect(event.content.body == "foto")
        #expect(event.content.quotedID == "3EB0Q")
        #expect(event.content.media?.announcedSize == Int64(4_294_967_301))
        #expect(event.timestamp == Date(timeIntervalSince1970: 1_764_000_000))
        #expect(event.chatType == .direct)
    }

    @Test("groups, broadcasts, a LID without a number, a device suffix, data as an array, and what is not a message")
    func addressing() throws {
        let group = try ChatEventParser.parse(data: ["key": ["remoteJid": "1203630@g.us", "id": "A", "participant": "5511@s.whatsapp.net"], "message": ["conversation": "x"]])
        #expect(group.chatType == .group)
        let status = try ChatEventParser.parse(data: ["key": ["remoteJid": "status@broadcast", "id": "B"], "message": ["conversation": "x"]])
        #expect(status.chatType == .broadcast)
        let lidOnly = try ChatEventParser.parse(data: ["key": ["remoteJid": "2012@lid", "id": "C"], "message": ["conversation": "x"]])
        #expect(lidOnly.phoneDigits == nil && lidOnly.lid == "2012@lid")
        #expect(ChatEventParser.digits(ofJID: "5511988887777:12@s.whatsapp.net") == "5511988887777")
        #expect(ChatEventParser.digits(ofJID: "12@s.whatsapp.net") == nil)
        let array = try ChatEventParser.parse(envelope: Array(try JSONSerialization.data(withJSONObject: [
            "event": "messages.upsert", "data": [["key": ["remoteJid": "5511988887777@s.whatsapp.net", "id": "D"], "message": ["conversation": "hi"]]],
        ])))
        #expect(array.content.body == "hi")
        #expect(throws: ChatEventProblem.noMessageKey) { try ChatEventParser.parse(data: ["key": ["remoteJid": "5511988887777@s.whatsapp.net"]]) }
        #expect(throws: ChatEventProblem.notJSON) { try ChatEventParser.parse(envelope: Array("[1".utf8)) }
    }

    @Test("kinds: wrappers unwrapped, voice notes, documents with captions, reactions, contact lists, unknown kinds named")
    func kinds() {
        let wrapped = ChatEventParser.content(of: ["ephemeralMessage": ["message": ["extendedTextMessage": ["text": "hey", "contextInfo": ["stanzaId": "Q"]]]]])
        #expect(wrapped.kind == .text && wrapped.body == "hey" && wrapped.quotedID == "Q")
        #expect(ChatEventParser.content(of: ["audioMessage": ["ptt": true, "mimetype": "audio/ogg"]]).kind == .voice)
        let document = ChatEventParser.content(of: ["documentWithCaptionMessage": ["message": ["documentMessage": ["fileName": "a.pdf", "caption": "see"]]]])
        #expect(document.kind == .document && document.body == "see" && document.media?.fileName == "a.pdf")
        let reaction = ChatEventParser.content(of: ["reactionMessage": ["key": ["id": "T"], "text": ""]])
        #expect(reaction.kind == .reaction && reaction.reactionTo == "T" && reaction.body == "")
        let cards = ChatEventParser.content(of: ["contactsArrayMessage": ["displayName": "2 contacts", "contacts": [["displayName": "A", "vcard": "V1"], ["displayName": "B", "vcard": "V2"]]]])
        #expect(cards.kind == .contact && cards.contacts.map(\.displayName) == ["A", "B"])
        let poll = ChatEventParser.content(of: ["messageContextInfo": [:], "pollCreationMessageV3": ["name": "?"]])
        #expect(poll.kind == .unsupported && poll.unsupportedType == "pollCreationMessageV3")
        #expect(ChatEventParser.content(of: [:], messageType: "unknown").unsupportedType == "unknown")
    }

    @Test("opt-out words compare whole, ignoring case, accents, Arabic marks and punctuation; an account's lists replace the defaults")
    func consentWords() {
        let words = ConsentWords.defaults
        #expect(words.intent(of: "  Stop! ") == .optOut)
        #expect(words.intent(of: "pará") == nil, "a different word")
        #expect(words.intent(of: "PARAR") == .optOut)
        #expect(words.intent(of: "Dar  de   baja.") == .optOut)
        #expect(words.intent(of: "إلغاء") == .optOut)
        #expect(words.intent(of: "إِلْغَاء") == .optOut, "with harakat")
        #expect(words.intent(of: "voltar") == .optIn)
        #expect(words.intent(of: "please stop sending") == nil, "only the whole text")
        let custom = ConsentWords(optOut: ["chega"], optIn: [])
        #expect(custom.intent(of: "Chega") == .optOut)
        #expect(custom.intent(of: "stop") == nil)
        #expect(custom.intent(of: "start") == nil)
        #expect(ConsentWords.problem(in: ["ok", " "], field: "f") != nil)
        #expect(ConsentWords.problem(in: Array(repeating: "w", count: 51), field: "f") != nil)
        #expect(ConsentWords.problem(in: ["stop"], field: "f") == nil)
    }

    @Test("media types from the first bytes")
    func sniffing() {
        #expect(MediaSniffer.mimeType(of: [0xFF, 0xD8, 0xFF, 0xE0]) == "image/jpeg")
        #expect(MediaSniffer.mimeType(of: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) == "image/png")
        #expect(MediaSniffer.mimeType(of: Array("RIFF\u{0}\u{0}\u{0}\u{0}WEBPVP8 ".utf8)) == "image/webp")
        #expect(MediaSniffer.mimeType(of: Array("%PDF-1.7".utf8)) == "application/pdf")
        #expect(MediaSniffer.mimeType(of: Array("OggS".utf8)) == "audio/ogg")
        #expect(MediaSniffer.mimeType(of: [0, 0, 0, 0x18] + Array("ftypmp42".utf8)) == "video/mp4")
        #expect(MediaSniffer.mimeType(of: [0, 0, 0, 0x18] + Array("ftypM4A ".utf8)) == "audio/mp4")
        #expect(MediaSniffer.mimeType(of: Array("hello".utf8)) == nil)
        #expect(MediaSniffer.mimeType(of: []) == nil)
    }
}
