// Renders per second of a realistic campaign template (tools/bench-templates.sh builds and runs it).
import WaqtorTemplates

let source = """
{Hi|Hello|Hey} {{name|there}}! {Thanks for being with us|{It's great|We're glad} to have you} at {{company|our store}}.
{This week|Until Sunday} {we have|there is} {a special offer|{10%|15%} off} on {{product|your favourite products}}, \
{just for you|for our best customers}. {Reply YES to know more|Tell us if you want the details}: \
{we answer in minutes|someone from the team will answer you soon}.
Order {{order.id|}} ships to {{city}}. {See you soon|Talk soon|Have a great day}, {{agent|the team}}
"""
let template = try Template.parse(source)
let values = ["name": "Ana Beatriz", "company": "Loja Azul", "product": "running shoes", "order.id": "A-10492", "city": "Lisboa"]
print("template: \(source.count) characters, \(template.variantCount) variants, \(template.variableNames.count) variables")

func measure(_ label: String, _ count: Int, _ body: (Int) throws -> Int) rethrows {
    var sink = 0
    for i in 0..<(count / 10) { sink &+= try body(i) }  // warm-up
    let clock = ContinuousClock()
    let start = clock.now
    for i in 0..<count { sink &+= try body(i) }
    let elapsed = start.duration(to: clock.now)
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(count) / seconds
    print("\(label): \(Int(rate)) per second, \(Int(seconds / Double(count) * 1e9)) ns each (\(count) in \((seconds * 100).rounded() / 100) s)")
    if sink == 42 { print("") }  // keeps the work observable
}

for _ in 0..<3 {
    try measure("render", 1_000_000) { i in try template.render(values: values, seed: UInt64(i)).utf8.count }
    try measure("parse ", 100_000) { _ in try Template.parse(source).occurrences.count }
}
