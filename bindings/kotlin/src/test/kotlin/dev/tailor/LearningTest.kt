package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * On-device learning, experiments, the local funnel, engine statistics and the profile summary,
 * through the SDK and the real library; mirrors core/tests/it/learning.rs and api.rs
 * `explain_profile_speaks_plainly` (the times are in 2090, see TestSupport.NOW).
 */
class LearningTest {
    @TempDir
    lateinit var tmp: Path

    private fun dir(name: String) = tmp.resolve(name).toString()

    private suspend fun open(name: String, personalLearning: Boolean = true): TailorClient =
        TailorClient.open(TailorConfig(directory = dir(name), personalLearning = personalLearning))

    private suspend fun openWithCatalog(name: String, personalLearning: Boolean = true): TailorClient {
        val t = open(name, personalLearning)
        assertEquals(12, t.upsertItems(TestSupport.learningCatalog()))
        t.loadModel(TestSupport.path("models/bootstrap-ranker"))
        return t
    }

    /** A shopper who bought shoes long ago but now skips them and picks books further down the page. */
    private suspend fun trainBooksLover(t: TailorClient, rounds: Int) {
        for (i in 0 until 4) t.track(Event.purchase("shoes-$i", at = instant(NOW - 60 * DAY)))
        repeat(rounds) { r ->
            val at = NOW - 10 * DAY + r * 3_600L
            val page = t.rank { limit = 12; now = instant(at) }
            t.recordImpressions(Impressions.of(page, surface = "home", at = instant(at)))
            // The best-placed book: everything above it is what the shopper skipped.
            t.track(Event.click(page.ids.first { it.startsWith("books") }, at = instant(at + 60)))
        }
    }

    private fun RankResponse.position(prefix: String) = ids.indexOfFirst { it.startsWith(prefix) }

    @Test
    fun personalLayerLearnsFromImpressionsAndClicksPersistsAndResets(): Unit = runBlocking {
        val plain = openWithCatalog("control", personalLearning = false).use { control ->
            trainBooksLover(control, 30)
            assertEquals(0L, control.metrics().engine.personalUpdates)
            control.rank { limit = 12; now = instant(NOW) }
        }
        val learned = openWithCatalog("learner").use { t ->
            trainBooksLover(t, 30)
            assertEquals(30L, t.metrics().engine.personalUpdates)
            t.rank { limit = 12; now = instant(NOW) }
        }
        assertTrue(
            learned.position("books") < plain.position("books"),
            "books rise with learning: ${learned.ids} vs ${plain.ids}",
        )
        open("learner").use { t ->
            assertEquals(learned.ids, t.rank { limit = 12; now = instant(NOW) }.ids, "the layer persists")
            t.resetPersonalLayer()
            assertEquals(0L, t.metrics().engine.personalUpdates)
            val reset = t.rank { limit = 12; now = instant(NOW) }
            assertEquals(plain.position("books"), reset.position("books"), "reset returns to the model")
        }
    }

    @Test
    fun experimentsAreStickyAndChooseTheModel(): Unit = runBlocking {
        val ranker = experiment("ranker-test") {
            variant("a", weight = 1.0, model = "linear-ranker")
            variant("b", weight = 1.0, model = "linear-ranker")
        }
        assertEquals(
            Experiment(
                key = "ranker-test",
                variants = listOf(
                    Variant(name = "a", weight = 1.0, modelName = "linear-ranker"),
                    Variant(name = "b", weight = 1.0, modelName = "linear-ranker"),
                ),
            ),
            ranker,
        )
        val first = open("exp").use { t ->
            t.upsertItems(TestSupport.learningCatalog())
            t.track(Event.purchase("toys-1", at = instant(NOW - DAY)))
            val undefined = assertFailsWith<TailorException.InvalidInput> {
                t.rank { limit = 3; now = instant(NOW); experiment = "ranker-test" }
            }
            assertTrue("ranker-test" in undefined.detail, undefined.detail)
            assertFailsWith<TailorException.InvalidInput> {
                t.recordImpressions(Impressions.of(listOf("toys-1"), experiment = "ranker-test", at = instant(NOW)))
            }
            assertFailsWith<TailorException.NotFound> { t.defineExperiment(ranker) }
            t.loadModel(TestSupport.path("models/linear-ranker"))
            // The active model becomes bootstrap; linear-ranker stays loaded for rollback.
            t.loadModel(TestSupport.path("models/bootstrap-ranker"))
            val variant = t.defineExperiment(ranker)
            assertTrue(variant in listOf("a", "b"), variant)
            val r = t.rank { limit = 3; now = instant(NOW); experiment = "ranker-test" }
            assertEquals(variant, r.variant)
            assertEquals("linear-ranker", r.modelName, "the variant's model ranks")
            assertEquals("bootstrap-ranker", t.model.name, "the active model is unchanged")
            val outside = t.rank { limit = 3; now = instant(NOW) }
            assertNull(outside.variant)
            assertEquals("bootstrap-ranker", outside.modelName)
            variant
        }
        open("exp").use { t ->
            // Definitions live in memory: define again on every launch. The assignment is stable.
            val again = t.defineExperiment("ranker-test") {
                variant("a", model = "linear-ranker")
                variant("b", model = "linear-ranker")
            }
            assertEquals(first, again, "same install, same variant")
            assertEquals(first, t.rank { limit = 3; now = instant(NOW); experiment = "ranker-test" }.variant)
        }
        // Bad definitions are InvalidInput.
        open("exp").use { t ->
            assertFailsWith<TailorException.InvalidInput> { t.defineExperiment("empty") {} }
            assertFailsWith<TailorException.InvalidInput> {
                t.defineExperiment("twice") { variant("a"); variant("a") }
            }
            assertFailsWith<TailorException.InvalidInput> {
                t.defineExperiment("negative") { variant("a", weight = -1.0) }
            }
        }
    }

    @Test
    fun funnelCountsImpressionsConversionsAndAttribution(): Unit = runBlocking {
        open("funnel").use { t ->
            val catalog = TestSupport.learningCatalog()
            t.upsertItems(catalog)
            t.track(Event.purchase("toys-1", at = instant(NOW - DAY)))
            val variant = t.defineExperiment("e") {
                variant("only", weight = 1.0) { boost(Attribute.category("books"), 0.1) }
            }
            assertEquals("only", variant)
            val page = t.rank { limit = 5; now = instant(NOW); experiment = "e" }
            assertEquals("only", page.variant)
            t.recordImpressions(Impressions.of(page, surface = "home", experiment = "e", at = instant(NOW)))
            val shownId = page.ids[2]
            t.track(Event.click(shownId, at = instant(NOW + 60)))
            t.track(Event.purchase(shownId, quantity = 2, at = instant(NOW + 120), surface = "search"))
            val notShown = catalog.map { it.id }.first { it !in page.ids }
            t.track(Event.purchase(notShown, at = instant(NOW + 180), surface = "search"))
            t.track(Event.purchase(shownId, at = instant(NOW + 3 * DAY), surface = "search")) // outside the 24 h window

            val m = t.metrics()
            val f = assertNotNull(m.funnel(experiment = "e", surface = "home"), "${m.funnels}")
            assertEquals("only", f.variant)
            assertEquals(listOf(5L, 1L, 1L, 1L), listOf(f.impressions, f.clicks, f.purchases, f.attributedConversions))
            val price = catalog.first { it.id == shownId }.price
            assertEquals(2 * price, f.revenue, 1e-9)
            assertEquals(2 * price, f.attributedRevenue, 1e-9)
            val other = assertNotNull(m.funnel(surface = "search"), "${m.funnels}")
            assertEquals(2L, other.purchases)
            assertEquals(0L, other.attributedConversions)
            assertTrue(m.engine.rankLatency.count >= 1L)

            t.resetMetrics()
            assertTrue(t.metrics().funnels.isEmpty())
        }
    }

    @Test
    fun engineStatsCountFallbacksErrorsAndEraseClearsLearning(): Unit = runBlocking {
        open("engine").use { t ->
            t.upsertItems(TestSupport.learningCatalog())
            assertEquals(Fallback.ColdStart, t.rank { limit = 3; now = instant(NOW) }.fallback)
            assertFailsWith<TailorException.InvalidInput> { t.rank { limit = 0; now = instant(NOW) } }
            assertFailsWith<TailorException.InvalidInput> { t.upsertItems(Item(id = "", title = "x", price = 1.0)) }
            val e = t.metrics().engine
            assertEquals(1L, e.fallbacks["cold_start"])
            assertEquals(0L, e.fallbacks["opted_out"])
            assertEquals(2L, e.errors["invalid_input"])
            assertEquals(1L, e.rankLatency.count)
            assertTrue(e.rankLatency.p50Micros <= e.rankLatency.p99Micros)
            assertTrue(e.model.builtin, "${e.model}")
            assertEquals(12L, e.catalogItems)
            assertTrue(e.profileDbBytes > 0L && e.catalogDbBytes > 0L)

            t.loadModel(TestSupport.path("models/bootstrap-ranker"))
            trainBooksLover(t, 5)
            assertTrue(t.metrics().engine.personalUpdates > 0L)
            assertEquals(4L + 5L, t.metrics().engine.profileEvents)
            t.erase()
            val m = t.metrics()
            assertEquals(0L, m.engine.personalUpdates)
            assertTrue(m.funnels.isEmpty())
        }
    }

    @Test
    fun explainProfileSpeaksPlainly(): Unit = runBlocking {
        open("explain").use { t ->
            t.upsertItems(TestSupport.learningCatalog())
            val empty = t.explainProfile(now = instant(NOW))
            assertTrue(empty.topCategories.isEmpty())
            assertTrue("don't know" in empty.sentences[0], "${empty.sentences}")
            t.trackBatch((0 until 3).map { Event.purchase("toys-$it", at = instant(NOW - DAY)) })
            t.track(Event.view("books-1", at = instant(NOW - 2 * DAY)))
            t.track(Event.addToCart("shoes-2", at = instant(NOW - 60), sessionId = "s"))
            val s = t.explainProfile(now = instant(NOW))
            assertEquals(Attribute.category("toys"), s.topCategories[0].attribute)
            assertEquals(1.0, s.topCategories[0].strength)
            assertTrue(s.topCategories.any { it.attribute == Attribute.category("books") }, "${s.topCategories}")
            assertEquals(Attribute.category("shoes"), s.sessionIntent[0].attribute)
            assertEquals("shoes-2", s.recentItems[0].itemId)
            assertTrue(s.recentItems[0].inCart)
            assertEquals(5L, s.eventsTotal)
            assertNotNull(s.usualPrice)
            assertTrue(s.sentences.any { "toys" in it }, "${s.sentences}")
            assertTrue(s.personalized)
            t.setConsent(false)
            assertFalse(t.explainProfile(now = instant(NOW)).personalized)
        }
    }
}
