package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** The SDK end to end through the generated bindings and the real library. */
class TailorClientTest {
    @TempDir
    lateinit var tmp: Path

    private fun dir() = tmp.resolve("store").toString()

    private suspend fun openWithCatalog(): TailorClient {
        val t = TailorClient.open(dir())
        assertEquals(16, t.importCatalogCsv(TestSupport.catalogCsv))
        t.loadModel(TestSupport.path("models/bootstrap-ranker"))
        return t
    }

    @Test
    fun namedCandidateSetsRankLikeTheSameIds(): Unit = runBlocking {
        openWithCatalog().use { t ->
            t.trackBatch(listOf(Event.purchase("toys-3", at = instant(NOW - 2 * DAY))))
            val ids = listOf("books-1", "toys-4", "nope", "toys-1", "toys-4", "kitchen-2")
            assertEquals(5, t.defineCandidateSet("gifts", ids))
            assertEquals(listOf("gifts"), t.candidateSets())
            val bySet = t.rank { candidateSet = "gifts"; limit = 3; now = instant(NOW) }
            val byIds = t.rank { candidates = ids; limit = 3; now = instant(NOW) }
            assertTrue(bySet.personalized)
            assertEquals(byIds.items, bySet.items)
            assertEquals(listOf("nope"), bySet.unknownIds)
            assertEquals("toys-4", bySet.ids[0], "the neighbour of the bought robot kit leads")

            assertFailsWith<TailorException.NotFound> { t.rank { candidateSet = "other" } }
            assertFailsWith<TailorException.InvalidInput> {
                t.rank { candidateSet = "gifts"; candidates("toys-1") }
            }
            assertFailsWith<TailorException.InvalidInput> { t.defineCandidateSet("empty", emptyList()) }
            assertEquals(listOf("gifts"), t.candidateSets(), "a refused definition changes nothing")
            assertTrue(t.removeCandidateSet("gifts"))
            assertFalse(t.removeCandidateSet("gifts"))
            assertFailsWith<TailorException.NotFound> { t.rank { candidateSet = "gifts" } }
        }
    }

    @Test
    fun catalogEventsAndRankingWithReasons(): Unit = runBlocking {
        openWithCatalog().use { t ->
            val cold = t.rank { limit = 3; now = instant(NOW) }
            assertEquals(listOf("shoes-1", "shoes-2", "shoes-3"), cold.ids)
            assertFalse(cold.personalized)
            assertEquals(Fallback.ColdStart, cold.fallback)
            assertEquals("popularity", cold.modelName)

            val summary = t.trackBatch(
                listOf(
                    Event.purchase("toys-3", at = instant(NOW - 10 * DAY)),
                    Event.purchase("toys-3", at = instant(NOW - 9 * DAY)),
                    Event.purchase("toys-3", at = instant(NOW - 8 * DAY)),
                    Event.view("toys-1", at = instant(NOW - DAY)),
                ),
            )
            assertEquals(TrackCounts(stored = 4, pendingItems = 0, droppedNoConsent = 0), summary)
            val page = t.rank { limit = 8; now = instant(NOW) }
            assertTrue(page.personalized)
            assertNull(page.fallback)
            assertEquals("bootstrap-ranker", page.modelName)
            assertEquals(listOf("toys-3", "toys-4", "toys-1"), page.ids.take(3))
            val top = page.items[0]
            assertEquals(Reason.BoughtBefore(times = 3L), top.reasons[0])
            assertTrue(Reason.Likes(Attribute.category("toys")) in top.reasons, "${top.reasons}")
            assertEquals(Reason.SimilarTo(itemId = "toys-3", title = "Robot Kit"), page.items[1].reasons[0])
            assertEquals(Reason.ViewedRecently, page.items[2].reasons[0])
            assertTrue(page.items.zipWithNext().all { (a, b) -> a.score >= b.score })
        }
    }

    @Test
    fun errorsAreTypedKotlinExceptions(): Unit = runBlocking {
        val t = openWithCatalog()
        val nan = assertFailsWith<TailorException.InvalidInput> {
            t.upsertItems(Item(id = "x", title = "X", price = Double.NaN))
        }
        assertTrue("price" in nan.detail, nan.detail)
        assertTrue(nan.message.contains("price"))
        assertFailsWith<TailorException.InvalidInput> { t.upsertItems(Item(id = "", title = "", price = 1.0)) }
        assertFailsWith<TailorException.InvalidInput> { t.track(Event.view("", at = instant(NOW))) }
        assertFailsWith<TailorException.InvalidInput> { t.track(Event.purchase("toys-1", quantity = 0, at = instant(NOW))) }
        assertFailsWith<TailorException.InvalidInput> { t.rank { limit = 0 } }
        assertFailsWith<TailorException.InvalidInput> { t.rank { limit = 3; rules { pin("toys-1", position = 5) } } }
        assertFailsWith<TailorException.InvalidInput> { t.rank { explore(rate = Double.NaN) } }
        // A lone UTF-16 surrogate is not text: every call refuses it before it is sent.
        val notText = assertFailsWith<TailorException.InvalidInput> { t.track(Event.view("bad-\uD800", at = instant(NOW))) }
        assertTrue("surrogate" in notText.message.orEmpty(), notText.message)
        assertFailsWith<TailorException.InvalidInput> { t.upsertItems(Item(id = "y", title = "\uDC00", price = 1.0)) }
        assertFailsWith<TailorException.InvalidInput> { t.rank { candidates("\uD800") } }

        val notOnnx = assertFailsWith<TailorException.ModelRejected> {
            t.loadModel(TestSupport.path("tests/fixtures/models/not_onnx"))
        }
        assertEquals(ModelProblem.NOT_ONNX, notOnnx.problem)
        val hash = assertFailsWith<TailorException.ModelRejected> {
            t.loadModel(TestSupport.path("tests/fixtures/models/hash_mismatch"))
        }
        assertEquals(ModelProblem.HASH_MISMATCH, hash.problem)
        val nanModel = assertFailsWith<TailorException.ModelRejected> {
            t.validateModel(TestSupport.path("tests/fixtures/models/nan_output"))
        }
        assertEquals(ModelProblem.NON_FINITE_OUTPUT, nanModel.problem)
        assertFailsWith<TailorException.ModelRejected> { t.loadModel(TestSupport.path("models/no-such-model")) }
        // Every refusal left the state alone.
        assertEquals("bootstrap-ranker", t.model.name)
        val s = t.status()
        assertEquals(16L, s.catalogItems)
        assertEquals(0L, s.profileEvents)
        // A sealed class: one `when` handles every case.
        val kind = try {
            t.rollbackModel()
            t.rollbackModel()
            "none"
        } catch (e: TailorException) {
            when (e) {
                is TailorException.InvalidInput -> "invalid"
                is TailorException.NotFound -> "not found"
                is TailorException.ModelRejected -> "rejected ${e.problem}"
                is TailorException.Storage -> "storage"
                is TailorException.Closed -> "closed"
                is TailorException.Interrupted -> "interrupted"
            }
        }
        assertEquals("not found", kind)

        t.close()
        t.close() // idempotent
        assertFailsWith<TailorException.Closed> { t.rank { limit = 1 } }
    }

    @Test
    fun closedStoresThrowClosed(): Unit = runBlocking {
        val t = openWithCatalog()
        t.native.closeStores()
        val e = assertFailsWith<TailorException.Closed> { t.rank { limit = 1; now = instant(NOW) } }
        assertTrue(e.detail.isNotEmpty())
        assertFailsWith<TailorException.Closed> { t.track(Event.view("toys-1", at = instant(NOW))) }
        t.close()
    }

    @Test
    fun modelSwapAndRollback(): Unit = runBlocking {
        openWithCatalog().use { t ->
            t.track(Event.purchase("kitchen-1", at = instant(NOW - DAY)))
            for (name in listOf("linear-ranker", "gbt-ranker")) {
                val info = t.loadModel(TestSupport.path("models/$name"))
                assertEquals(name, info.name)
                assertFalse(info.builtin)
                val page = t.rank { limit = 5; now = instant(NOW) }
                assertTrue(page.personalized, "$name: ${page.fallback}")
                assertEquals(name, page.modelName)
                assertEquals(5, page.items.size)
                assertTrue(page.items.any { Reason.BoughtBefore(1L) in it.reasons }, "$name: ${page.items}")
            }
            assertEquals("linear-ranker", t.rollbackModel().name)
            assertEquals("linear-ranker", t.status().model.name)
            val bytes = java.io.File(TestSupport.path("models/mlp-ranker/model.onnx")).readBytes()
            val manifest = java.io.File(TestSupport.path("models/mlp-ranker/manifest.json")).readText()
            assertEquals("mlp-ranker", t.loadModel(bytes, manifest).name)
            assertEquals("mlp-ranker", t.rank { limit = 2; now = instant(NOW) }.modelName)
        }
    }

    @Test
    fun closeAndReopenKeepsEverything(): Unit = runBlocking {
        val before = openWithCatalog().use { t ->
            t.trackBatch(
                listOf(
                    Event.addToCart("books-2", at = instant(NOW - 3600)),
                    Event.purchase("books-1", quantity = 2, at = instant(NOW - 7200)),
                    Event.view("kitchen-3", at = instant(NOW - 60), sessionId = "s-1"),
                ),
            )
            t.setPreferences(Attribute.tag("coffee"))
            t.rank { limit = 16; now = instant(NOW) }
        }
        TailorClient.open(dir()).use { t ->
            val s = t.status()
            assertEquals(16L, s.catalogItems)
            assertEquals(3L, s.profileEvents)
            assertEquals(0L, s.pendingEvents)
            assertTrue(s.consent)
            assertEquals("bootstrap-ranker", s.model.name)
            val after = t.rank { limit = 16; now = instant(NOW) }
            assertEquals(before.ids, after.ids)
            assertEquals(before.items.map { it.reasons }, after.items.map { it.reasons })
            assertEquals(Reason.LeftInCart, after.items.first { it.itemId == "books-2" }.reasons[0])
        }
    }

    @Test
    fun rulesDsl(): Unit = runBlocking {
        openWithCatalog().use { t ->
            val page = t.rank {
                limit = 7
                now = instant(NOW)
                rules {
                    pin("books-3", position = 0)
                    pin("kitchen-2", position = 6)
                    boost(Attribute.category("toys"), 10.0)
                }
            }
            assertEquals(listOf("books-3", "toys-1", "toys-2", "toys-3", "toys-4", "shoes-1", "kitchen-2"), page.ids)
            assertEquals(Reason.Pinned, page.items[0].reasons[0])
            assertEquals(Reason.Boosted(Attribute.category("toys")), page.items[1].reasons[0])

            val filtered = t.rank {
                limit = 20
                now = instant(NOW)
                rules {
                    minMargin = 0.3
                    exclude("kitchen-1")
                }
                diversity(maxPerCategory = 1, window = 3)
            }
            assertEquals(listOf("shoes-1", "kitchen-4", "toys-1"), filtered.ids.take(3))
            assertFalse("kitchen-1" in filtered.ids)
            assertFalse("shoes-2" in filtered.ids)

            val explored = t.rank { limit = 4; now = instant(NOW); explore(rate = 0.5, seed = 42) }
            assertEquals(explored.ids, t.rank { limit = 4; now = instant(NOW); explore(rate = 0.5, seed = 42) }.ids)
            assertEquals(listOf(1, 2), explored.items.indices.filter { Reason.Exploration in explored.items[it].reasons })

            val candidates = t.rank { candidates("toys-1", "nope", "toys-1", "books-1"); now = instant(NOW) }
            assertEquals(listOf("books-1", "toys-1"), candidates.ids)
            assertEquals(listOf("nope"), candidates.unknownIds)
        }
    }

    @Test
    fun pendingEventsOptOutAndErase(): Unit = runBlocking {
        openWithCatalog().use { t ->
            val s = t.trackBatch(listOf(Event.purchase("garden-1", at = instant(NOW - DAY))))
            assertEquals(1, s.pendingItems)
            assertEquals(1L, t.status().pendingEvents)
            t.upsertItems(Item(id = "garden-1", title = "Watering Can", category = "garden", price = 15.0))
            assertEquals(0L, t.status().pendingEvents)
            val page = t.rank { limit = 3; now = instant(NOW) }
            assertEquals("garden-1", page.ids[0])

            t.setConsent(false)
            assertFalse(t.consent)
            assertEquals(1, t.trackBatch(listOf(Event.view("toys-1", at = instant(NOW)))).droppedNoConsent)
            assertEquals(Fallback.OptedOut, t.rank { limit = 3; now = instant(NOW) }.fallback)
            t.setConsent(true)

            assertTrue("garden-1" in t.exportJson())
            t.erase()
            assertEquals(0L, t.status().profileEvents)
            assertEquals(Fallback.ColdStart, t.rank { limit = 3; now = instant(NOW) }.fallback)
            assertEquals(2, t.removeItems(listOf("garden-1", "toys-1", "nope")))
        }
    }

    /** The generated API is usable directly too (blocking; records have the core's defaults). */
    @Test
    fun generatedApiDirectly(@TempDir other: Path) {
        Tailor.open(TailorConfig(directory = other.toString(), explorationRate = 0.0)).use { t ->
            assertEquals(2u, t.upsertItems(listOf(Item(id = "a", title = "A", price = 1.0, popularity = 2.0), Item(id = "b", title = "B", price = 2.0))))
            val r = t.rank(RankRequest(limit = 5u, now = NOW))
            assertEquals(listOf("a", "b"), r.items.map { it.itemId })
            assertEquals(RankRequest().limit, 20u)
            t.closeStores()
        }
    }
}
