package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import java.time.Duration
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** Issue 18: the model guard rolls a degrading model back by itself; deadlines never fail a call. */
class ModelGuardTest {
    @TempDir
    lateinit var tmp: Path

    private fun config(guardMinRanks: UInt = 50u, rankDeadlineMs: UInt? = null) = TailorConfig(
        directory = tmp.resolve("store").toString(), maxEventAgeDays = 36_500u,
        guardMinRanks = guardMinRanks, rankDeadlineMs = rankDeadlineMs,
    )

    private suspend fun shopper(t: TailorClient) {
        t.importCatalogCsv(TestSupport.catalogCsv)
        t.track(Event.purchase("kitchen-1", at = instant(NOW - 3 * DAY)))
        t.loadModel(TestSupport.path("models/linear-ranker"))
    }

    @Test
    fun aModelThatScoresNanOnRealItemsIsRolledBackAndStaysRefused(): Unit = runBlocking {
        val degrading = TestSupport.path("tests/fixtures/models/nan_on_real_items")
        TailorClient.open(config(guardMinRanks = 5u)).use { t ->
            shopper(t)
            // It passes every load check: its probe ranges never reach real items' popularity.
            assertEquals("fixture-nan-on-real-items", t.loadModel(degrading).name)
            var calls = 0
            while (t.model.name == "fixture-nan-on-real-items") {
                val page = t.rank { limit = 3; now = instant(NOW) }
                assertTrue(page.fallback is Fallback.ModelFailed, "${page.fallback}")
                calls++
                assertTrue(calls <= 5, "not rolled back after $calls calls")
            }
            assertEquals(5, calls)
            val page = t.rank { limit = 3; now = instant(NOW) }
            assertTrue(page.personalized)
            assertEquals("linear-ranker", page.modelName)

            val notice = t.status().notices.single { it.message.startsWith("model guard rolled back") }
            assertEquals("model", notice.store)
            assertTrue("after 5 rank calls" in notice.message, notice.message)
            val guard = t.metrics().engine.modelGuard
            assertTrue(guard.enabled)
            assertEquals(1, guard.ranks)
            assertNull(guard.driftPsi)
            val rollback = guard.rollbacks.single()
            assertEquals("fixture-nan-on-real-items", rollback.name)
            assertEquals("linear-ranker", rollback.replacedBy)
            assertEquals(5uL, rollback.ranks)

            val refused = assertFailsWith<TailorException.ModelRejected> { t.loadModel(degrading) }
            assertEquals(ModelProblem.QUARANTINED, refused.problem)
        }
        // Across reopen: still refused, still reported.
        TailorClient.open(config(guardMinRanks = 5u)).use { t ->
            assertEquals("linear-ranker", t.model.name)
            assertEquals(1, t.metrics().engine.modelGuard.rollbacks.size)
            assertTrue(t.status().notices.any { it.message.startsWith("model guard rolled back") })
            val refused = assertFailsWith<TailorException.ModelRejected> { t.loadModel(degrading) }
            assertEquals(ModelProblem.QUARANTINED, refused.problem)
        }
    }

    @Test
    fun anExpiredDeadlineRanksByPopularityAndFlagsTheResponse(): Unit = runBlocking {
        TailorClient.open(config()).use { t ->
            shopper(t)
            val page = t.rank { limit = 3; now = instant(NOW); deadline = Duration.ZERO }
            assertFalse(page.personalized)
            assertEquals(Fallback.DeadlineExceeded(scored = 0u, candidates = 15u), page.fallback)
            assertEquals("popularity", page.modelName)
            assertEquals(listOf("shoes-1", "shoes-2", "shoes-3"), page.ids)
            val full = t.rank { limit = 3; now = instant(NOW); deadline = Duration.ofSeconds(60) }
            assertTrue(full.personalized)
            assertNull(full.fallback)
            assertEquals(1, t.metrics().engine.fallbacks["deadline_exceeded"])
            assertFailsWith<TailorException.InvalidInput> { t.rank { deadline = Duration.ofMillis(-1) } }
        }
        // The configured default applies to requests without their own.
        TailorClient.open(config(rankDeadlineMs = 0u)).use { t ->
            shopper(t)
            assertTrue(t.rank { limit = 3; now = instant(NOW) }.fallback is Fallback.DeadlineExceeded)
        }
    }
}
