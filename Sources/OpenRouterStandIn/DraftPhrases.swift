/// The fixed wording of drafts in one language. Only the languages our users write in most have
/// their own; any other language gets the English wording (a stand-in need not translate).
struct DraftPhrases {
    /// A spintax group (`{Hi|Hello}`).
    var greeting: String
    /// The `{{name|…}}` default, for contacts without a name. Plain text: no `{ } |`.
    var nameDefault: String
    /// Three closing sentences, used in turn.
    var closings: [String]
    /// Put before the summary from the fourth draft on.
    var leadIns: [String]

    static func forLanguage(_ language: String) -> DraftPhrases {
        table[language] ?? english
    }

    static let english = DraftPhrases(
        greeting: "{Hi|Hello}", nameDefault: "there",
        closings: ["Reply STOP to opt out.", "{{name|Friend}}, we hope to see you soon.", "Questions? Just reply to this message."],
        leadIns: ["Good news: ", "Don't miss it: ", "A quick reminder: "])

    static let table: [String: DraftPhrases] = [
        "en": english,
        "pt": DraftPhrases(
            greeting: "{Olá|Oi}", nameDefault: "cliente",
            closings: ["Responda SAIR para não receber mais mensagens.", "{{name|Amigo}}, esperamos ver você em breve.",
                       "Dúvidas? É só responder a esta mensagem."],
            leadIns: ["Boas notícias: ", "Não perca: ", "Um lembrete rápido: "]),
        "es": DraftPhrases(
            greeting: "{Hola|Buenas}", nameDefault: "cliente",
            closings: ["Responde BAJA para no recibir más mensajes.", "{{name|Amigo}}, esperamos verte pronto.",
                       "¿Preguntas? Solo responde a este mensaje."],
            leadIns: ["Buenas noticias: ", "No te lo pierdas: ", "Un recordatorio rápido: "]),
        "fr": DraftPhrases(
            greeting: "{Bonjour|Salut}", nameDefault: "cher client",
            closings: ["Répondez STOP pour vous désabonner.", "{{name|Cher ami}}, à très bientôt.",
                       "Des questions ? Répondez simplement à ce message."],
            leadIns: ["Bonne nouvelle : ", "À ne pas manquer : ", "Petit rappel : "]),
        "de": DraftPhrases(
            greeting: "{Hallo|Guten Tag}", nameDefault: "liebe Kundin, lieber Kunde",
            closings: ["Antworten Sie STOP, um sich abzumelden.", "{{name|Liebe Kundin, lieber Kunde}}, wir freuen uns auf Sie.",
                       "Fragen? Antworten Sie einfach auf diese Nachricht."],
            leadIns: ["Gute Nachrichten: ", "Nicht verpassen: ", "Kurze Erinnerung: "]),
        "ar": DraftPhrases(
            greeting: "{مرحبا|أهلا}", nameDefault: "عزيزي العميل",
            closings: ["أرسل STOP لإلغاء الاشتراك.", "{{name|صديقنا العزيز}}، نأمل أن نراك قريبًا.",
                       "لديك أسئلة؟ فقط رد على هذه الرسالة."],
            leadIns: ["أخبار سارة: ", "لا تفوّت: ", "تذكير سريع: "]),
    ]
}
