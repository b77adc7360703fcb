// A shop's first screen with Tailor. Usage: TailorSample <data dir> <catalog.csv.gz> <events.csv.gz>
import Foundation
import Tailor

let args = CommandLine.arguments.dropFirst().map { URL(fileURLWithPath: $0) }
let (dataDir, catalog, events) = (args[0], args[1], args[2])

let tailor = try await TailorClient(directory: dataDir.appendingPathComponent("tailor"))
print("imported \(try await tailor.importCatalogCsv(catalog)) items")
// The shop's order history: no shopper's profile, only popularity for the cold-start page.
try await tailor.importEventsCsv(events, userId: "-")
let cold = try await tailor.rank(limit: 3)
print("cold start (\(String(describing: cold.fallback))): \(cold.items.map { "\($0.itemId) \($0.reasons)" })")
precondition(cold.items.allSatisfy { $0.reasons.contains(.popularNow) })

try await tailor.track(.view("85123A", at: Date()))
try await tailor.track(.purchase("85123A", quantity: 2))
let pageSize = 5
let page = try await tailor.rank(limit: pageSize, rules: BusinessRules(pinned: [Pin("22423", at: 0)]))
for item in page.items { print(item.itemId, item.reasons) }
precondition(page.items[0].itemId == "22423" && page.items[0].reasons.contains(.pinned))
try await tailor.recordImpressions(Impressions(page: page, surface: "home"))

let status = try await tailor.status()
print("\(status.catalogItems) items, \(status.profileEvents) events, \(status.pendingEvents) pending")

do {
    _ = try await tailor.rank(limit: -1)
} catch let error as TailorError {
    print("rejected: \(error.localizedDescription)")
}
await tailor.close()
do {
    _ = try await tailor.status()
} catch TailorError.closed(let message) {
    print("after close: \(message)")
}
print("sample ok")
