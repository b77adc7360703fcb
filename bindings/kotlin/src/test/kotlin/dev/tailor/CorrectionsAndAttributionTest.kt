package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The shopper's corrections (not interested, undo, forget) and attribution per placement;
 * mirrors core/tests/it/corrections.rs and attribution.rs.
 */
class CorrectionsAndAttributionTest {
    @TempDir
    lateinit var tmp: Path

    @Test
    fun notInterestedLeavesAnItemOutPushesACategoryDownAndUndoes(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "corrections").use { t ->
            t.trackBatch(listOf(
                Event.purchase("shoes-0", at = instant(NOW - 2 * DAY)),
                Event.view("shoes-1", at = instant(NOW - DAY)),
            ))
            assertTrue("shoes-0" in t.rank { limit = 12; now = instant(NOW) }.ids)
            t.markNotInterested(Attribute.item("shoes-0"))
            for (where in listOf("home", "pdp")) {
                val page = t.rank { limit = 12; surface = where; now = instant(NOW) }
                assertFalse("shoes-0" in page.ids, "$where: ${page.ids}")
            }
            t.markNotInterested(Attribute.category("shoes"))
            val page = t.rank { limit = 12; now = instant(NOW) }
            assertEquals(listOf("shoes-1", "shoes-2", "shoes-3"), page.ids.takeLast(3).sorted(), "${page.ids}")
            val summary = t.explainProfile()
            assertEquals(listOf(Attribute.category("shoes"), Attribute.item("shoes-0")), summary.notInterested.map { it.attribute })
            assertTrue("\"not_interested\"" in t.exportJson())

            assertTrue(t.undoNotInterested(Attribute.item("shoes-0")))
            assertFalse(t.undoNotInterested(Attribute.item("shoes-0")))
            assertTrue("shoes-0" in t.rank { limit = 12; now = instant(NOW) }.ids)
            assertFailsWith<TailorException.InvalidInput> { t.markNotInterested(Attribute.brand("")) }
            t.erase()
            assertTrue(t.explainProfile().notInterested.isEmpty())
        }
    }

    @Test
    fun forgetItemDeletesItsEvents(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "forget").use { t ->
            t.trackBatch(listOf(
                Event.purchase("toys-0", at = instant(NOW - 2 * DAY)),
                Event.view("toys-0", at = instant(NOW - DAY)),
                Event.view("books-2", at = instant(NOW - DAY)),
            ))
            assertEquals(2, t.forgetItem("toys-0"))
            assertEquals(0, t.forgetItem("toys-0"))
            assertEquals(1L, t.status().profileEvents)
            val summary = t.explainProfile()
            assertTrue(summary.recentItems.none { it.itemId == "toys-0" })
            assertFalse("toys-0" in t.exportJson())
        }
    }

    @Test
    fun conversionsAreCreditedToThePlacementThatEarnedThem(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "attribution").use { t ->
            val home = t.rank { limit = 4; surface = "home"; candidates("shoes-0", "shoes-1", "shoes-2", "shoes-3"); now = instant(NOW) }
            val pdp = t.rank { limit = 4; surface = "pdp"; candidates("books-0", "books-1"); now = instant(NOW) }
            assertNotEquals(home.responseId, pdp.responseId)
            t.recordImpressions(Impressions.of(home, surface = "home", at = instant(NOW)))
            t.recordImpressions(Impressions.of(pdp, surface = "pdp", at = instant(NOW)))
            t.trackBatch(listOf(
                Event.click(home.ids[0], at = instant(NOW + 60), responseId = home.responseId),
                Event.addToCart(home.ids[0], at = instant(NOW + 90), responseId = home.responseId),
                Event.purchase(pdp.ids[0], at = instant(NOW + 120), responseId = pdp.responseId),
                // After the 24-hour window: not credited.
                Event.purchase(pdp.ids[1], at = instant(NOW + 2 * DAY), responseId = pdp.responseId),
            ))
            val metrics = t.metrics()
            assertEquals(2, metrics.placements.size)
            val h = metrics.placement(home.responseId)!!
            assertEquals(listOf(4L, 1L, 1L, 0L), listOf(h.impressions, h.clicks, h.addToCarts, h.purchases))
            assertEquals("home", h.surface)
            assertEquals(instant(NOW), h.shownAt)
            val p = metrics.placement(pdp.responseId)!!
            assertEquals(listOf(2L, 0L, 1L), listOf(p.impressions, p.clicks, p.purchases))
            assertTrue(p.revenue > 0.0)
            t.resetMetrics()
            assertTrue(t.metrics().placements.isEmpty())
        }
    }
}
