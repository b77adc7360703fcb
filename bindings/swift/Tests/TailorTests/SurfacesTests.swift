import Foundation
import XCTest
import Tailor

/// Product page, cart, search and bundles through the Swift layer; mirrors core/tests/it/surfaces.rs.
final class SurfacesTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let day: TimeInterval = 86_400

    private func shop() async throws -> TailorClient {
        let t = try await TestSupport.openWithLearningCatalog(self)
        func rel(_ pairs: [(String, Double)]) -> [RelatedItem] { pairs.map { RelatedItem(itemId: $0.0, weight: $0.1) } }
        try await t.upsertItems([
            Item(id: "tent", title: "Dome Tent", category: "camping", brand: "acme", price: 120, popularity: 5,
                 related: rel([("pegs", 1), ("mat", 0.6), ("books-3", 0.1)])),
            Item(id: "tent2", title: "Tunnel Tent", category: "camping", brand: "zeta", price: 150, popularity: 4),
            Item(id: "pegs", title: "Tent Pegs", category: "hardware", price: 8, margin: 0.4, popularity: 3,
                 related: rel([("tent", 1)])),
            Item(id: "mat", title: "Sleeping Mat", category: "camping", price: 25, margin: 0.1, popularity: 2,
                 related: rel([("tent", 1)])),
        ])
        return t
    }

    func testProductPageAndCart() async throws {
        let t = try await shop()
        let page = try await t.goesWith("tent", limit: 4, now: now)
        XCTAssertEqual(Array(page.ids.prefix(2)), ["pegs", "mat"])
        XCTAssertFalse(page.ids.contains("tent"), "the viewed item is left out")
        XCTAssertEqual(page.items[0].reasons.first, .goesWith(itemId: "tent", title: "Dome Tent"))
        let similar = try await t.similar(to: "tent", limit: 3, now: now)
        XCTAssertEqual(similar.ids.first, "tent2")
        let cart = try await t.completeCart(["pegs", "mat"], limit: 3, now: now)
        XCTAssertEqual(cart.ids.first, "tent")
        let trending = try await t.rank(limit: 2, now: now, kind: .trending)
        XCTAssertEqual(trending.items[0].reasons.first, .trendingInCategory(category: "shoes"))
        await t.close()
    }

    func testSearchKeepsTheAppsOrderForANewShopper() async throws {
        let t = try await shop()
        let results = ["toys-3", "books-3", "shoes-3", "books-2"]
        let page = try await t.rerankSearch(results, scores: [0.9, 0.5, 0.4, 0.1], now: now)
        XCTAssertFalse(page.personalized)
        XCTAssertEqual(page.ids, results)
        for k in 0..<3 { try await t.track(.purchase("books-\(k)", at: now - day)) }
        let mine = try await t.rerankSearch(results, scores: [0.9, 0.85, 0.4, 0.1], now: now)
        XCTAssertTrue(mine.personalized)
        let ids = mine.ids
        XCTAssertLessThan(ids.firstIndex(of: "books-3")!, ids.firstIndex(of: "toys-3")!, "\(ids)")
        await t.close()
    }

    func testBundlesAndTheirConstraints() async throws {
        let t = try await shop()
        let b = try await t.bundle(for: ["tent"], size: 3, now: now)
        XCTAssertEqual(b.ids, ["pegs", "mat", "books-3"])
        XCTAssertEqual(b.totalPrice, 8 + 25 + 17, accuracy: 1e-9)
        let again = try await t.bundle(for: ["tent"], size: 3, now: now)
        XCTAssertEqual(again, b, "the same state, the same bundle")
        let capped = try await t.bundle(for: ["tent"], maxTotalPrice: 35, now: now)
        XCTAssertEqual(capped.ids, ["pegs", "mat"])
        do {
            _ = try await t.bundle(for: ["tent"], minMargin: 0.5, now: now)
            XCTFail("no two items have a 50% margin")
        } catch TailorError.invalidInput(let message) {
            XCTAssertTrue(message.contains("lower min_margin"), message)
        }
        do {
            _ = try await t.bundle(for: ["nope"])
            XCTFail("unknown context item")
        } catch TailorError.notFound {}
        await t.close()
    }

    func testBadSurfaceRequestsAreTypedErrors() async throws {
        let t = try await shop()
        do {
            _ = try await t.rank(kind: .completeCart)
            XCTFail("complete_cart needs a cart")
        } catch TailorError.invalidInput {}
        do {
            _ = try await t.rerankSearch(["toys-1", "toys-2"], scores: [1, .nan])
            XCTFail("NaN retrieval score")
        } catch TailorError.invalidInput {}
        await t.close()
    }
}
