package dev.tailor

import dev.tailor.TestSupport.NOW
import java.io.File
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The friction points of a first app (issue 16), each shown gone: platform types, checked Ints,
 * signed counts, errors that match the README, readable printing, cold start from imported events,
 * QA hooks.
 */
class AppDeveloperTest {
    @TempDir
    lateinit var tmp: Path

    private val sampleCatalog = File(TestSupport.path("cli/data/catalog.csv.gz"))
    private val sampleEvents = File(TestSupport.path("cli/data/events.csv.gz"))

    @Test
    fun filesPathsAndInstants(): Unit = runBlocking {
        // Android's context.filesDir is a File; java.nio users have a Path.
        val filesDir: File = tmp.resolve("files").toFile()
        TailorClient.open(filesDir.resolve("tailor")).use { t ->
            assertEquals(filesDir.resolve("tailor").path, t.directory.path)
            assertEquals(400, t.importCatalogCsv(sampleCatalog))
            t.track(Event.view("85123A", at = instant(NOW)))
            val page = t.rank { limit = 3; now = instant(NOW) }
            assertEquals(3, page.items.size)
            assertTrue(t.explainProfile(now = instant(NOW)).sentences.isNotEmpty())
            assertEquals("bootstrap-ranker", t.validateModel(File(TestSupport.path("models/bootstrap-ranker"))).name)
        }
        TailorClient.open(tmp.resolve("files/tailor")).use { t ->
            assertEquals(1L, t.status().profileEvents)
            assertEquals("linear-ranker", t.loadModel(Path.of(TestSupport.path("models/linear-ranker"))).name)
        }
    }

    @Test
    fun negativeIntsAreInvalidInputNeverWrapped(): Unit = runBlocking {
        TailorClient.open(tmp.resolve("ints")).use { t ->
            t.importCatalogCsv(TestSupport.catalogCsv)
            val limit = assertFailsWith<TailorException.InvalidInput> { t.rank { limit = -1 } }
            assertEquals("limit must be 0 or more, got -1", limit.message)
            val pin = assertFailsWith<TailorException.InvalidInput> { t.rank { rules { pin("toys-1", position = -1) } } }
            assertTrue("pin position" in pin.message, pin.message)
            assertFailsWith<TailorException.InvalidInput> { t.track(Event.purchase("toys-1", quantity = -2)) }
            assertFailsWith<TailorException.InvalidInput> { t.rank { diversity(maxPerCategory = -1) } }
            assertFailsWith<TailorException.InvalidInput> { t.rank { explore(rate = 0.1, seed = -7) } }
            assertEquals(0L, t.status().profileEvents, "nothing was stored")
        }
    }

    @Test
    fun countsAreSignedAndFormatWithPercentD(): Unit = runBlocking {
        TailorClient.open(tmp.resolve("counts")).use { t ->
            t.importCatalogCsv(TestSupport.catalogCsv)
            t.track(Event.view("toys-1"))
            val status = t.status()
            assertEquals("16 items, 1 events, 0 pending", "%d items, %d events, %d pending".format(
                status.catalogItems, status.profileEvents, status.pendingEvents))
            t.rank { limit = 2 }
            val engine = t.metrics().engine
            assertEquals("1 ranks", "%d ranks".format(engine.rankLatency.count))
            assertEquals(0L, engine.errors["invalid_input"])
        }
    }

    @Test
    fun errorsReadWellAndMatchTheReadme(): Unit = runBlocking {
        val t = TailorClient.open(tmp.resolve("errors"))
        val bad = assertFailsWith<TailorException.InvalidInput> { t.upsertItems(Item(id = "x", title = "X", price = Double.NaN)) }
        assertFalse(bad.message.startsWith("detail="), bad.message)
        assertEquals(bad.detail, bad.message)
        // The README: a model that cannot be loaded, a missing folder included, is ModelRejected.
        val missing = assertFailsWith<TailorException.ModelRejected> { t.loadModel(tmp.resolve("no-model")) }
        assertEquals(ModelProblem.NOT_ONNX, missing.problem)
        assertTrue("no-model" in missing.message, missing.message)
        t.shutdown()
        t.shutdown() // idempotent
        assertFailsWith<TailorException.Closed> { t.rank { limit = 1 } }
        assertFailsWith<TailorException.Closed> { t.status() }
        val closed = assertFailsWith<TailorException.Closed> { t.track(Event.view("a")) }
        assertEquals("this TailorClient was closed; open a new one", closed.message)
    }

    @Test
    fun reasonsAndFallbacksPrintReadably() {
        assertEquals("Pinned", Reason.Pinned.toString())
        assertEquals("PopularNow", Reason.PopularNow.toString())
        assertEquals("ColdStart", Fallback.ColdStart.toString())
        assertEquals("[BoughtBefore(times=2), ViewedRecently]", listOf(Reason.BoughtBefore(2L), Reason.ViewedRecently).toString())
    }

    @Test
    fun sampleCatalogColdStartIsABestSellerPageWithPopularNow(): Unit = runBlocking {
        TailorClient.open(tmp.resolve("cold")).use { t ->
            t.importCatalogCsv(sampleCatalog)
            val idOrder = t.rank { limit = 5 }
            assertFalse(idOrder.items.any { Reason.PopularNow in it.reasons }, "no popularity in the CSV")
            // The shop's order history, none of it this shopper's: popularity only.
            val summary = t.importEventsCsv(sampleEvents, userId = "not-a-shopper-in-the-file")
            assertEquals(0, summary.stored)
            val page = t.rank { limit = 5 }
            assertEquals(Fallback.ColdStart, page.fallback)
            assertTrue(page.items.all { Reason.PopularNow in it.reasons }, "${page.items}")
            assertTrue(page.ids != idOrder.ids)
        }
    }

    @Test
    fun qaCanForceAVariantAndSeeRetentionInStatus(): Unit = runBlocking {
        val config = TailorConfig(directory = tmp.resolve("qa").toString(), maxEvents = 2u)
        TailorClient.open(config).use { t ->
            t.importCatalogCsv(TestSupport.catalogCsv)
            val natural = t.defineExperiment("qa") { variant("a"); variant("b") }
            val other = if (natural == "a") "b" else "a"
            t.forceVariant("qa", other)
            assertEquals(other, t.defineExperiment("qa") { variant("a"); variant("b") })
            assertEquals(other, t.rank { limit = 2; experiment = "qa" }.variant)
            assertFailsWith<TailorException.InvalidInput> { t.forceVariant("qa", "c") }
            t.forceVariant("qa", null)
            assertEquals(natural, t.rank { limit = 2; experiment = "qa" }.variant)

            for (id in listOf("toys-1", "toys-2", "toys-3")) t.track(Event.view(id))
            val status = t.status()
            assertEquals(2L, status.profileEvents)
            assertTrue(status.notices.any { "retention removed 1 events" in it.message }, "${status.notices}")
        }
    }
}
