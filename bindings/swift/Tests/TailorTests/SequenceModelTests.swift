import Foundation
import XCTest
import Tailor

/// Issue 15: a model folder with a sequence model (manifest format 2) ranks by what was bought last.
final class SequenceModelTests: XCTestCase {
    private let now = TestSupport.nowDate
    private let fixture = TestSupport.path("tests/fixtures/sequence-model")

    private func client() async throws -> TailorClient {
        var c = TailorConfig(directory: TestSupport.tempDir(self))
        c.maxEventAgeDays = 36_500
        return try await TailorClient(config: c)
    }

    func testTheNextItemOfTheShoppersWalkComesFirst() async throws {
        let t = try await client()
        _ = try await t.importCatalogCsv(path: fixture + "/catalog.csv")
        let info = try await t.loadModel(path: fixture)
        XCTAssertEqual(info.name, "fixture-sequence")
        // The fixture was trained on shoppers who buy p01, p02, ... in order.
        try await t.track(.purchase("p07", at: now - 2 * 86_400))
        try await t.track(.purchase("p08", at: now - 86_400))
        let page = try await t.rank(limit: 3, now: now)
        XCTAssertTrue(page.personalized)
        XCTAssertEqual(page.ids.first, "p09")
        await t.close()
    }

    func testASequenceModelComesFromItsFolderAndABrokenOneIsRefused() async throws {
        let t = try await client()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture + "/model.onnx"))
        let manifest = try String(contentsOfFile: fixture + "/manifest.json", encoding: .utf8)
        do {
            _ = try await t.loadModel(data: bytes, manifestJson: manifest)
            XCTFail("a sequence model loaded from bytes")
        } catch TailorError.modelRejected(let problem, let message) {
            XCTAssertEqual(problem, .invalidManifest, message)
            XCTAssertTrue(message.contains("load_model"), message)
        }
        let broken = TestSupport.tempDir(self) + "/broken"
        try FileManager.default.copyItem(atPath: fixture, toPath: broken)
        let vocab = broken + "/vocab.txt"
        let text = try String(contentsOfFile: vocab, encoding: .utf8) + "p99\n"
        try text.write(toFile: vocab, atomically: true, encoding: .utf8)
        do {
            _ = try await t.loadModel(path: broken)
            XCTFail("a changed vocabulary loaded")
        } catch TailorError.modelRejected(let problem, _) {
            XCTAssertEqual(problem, .hashMismatch)
        }
        XCTAssertTrue(t.model.builtin, "the built-in model keeps serving")
        await t.close()
    }
}
