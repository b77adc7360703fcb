package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The packed page ([Tailor.rankPage]) gives the response the generated `rank` lifts, field for
 * field, for every kind of page; mirrors core/tests/it/rank_page.rs.
 */
class RankPageTest {
    @TempDir
    lateinit var tmp: Path

    @Test
    fun everyKindOfPageReadsBackAsRankGivesIt(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "pages").use { client ->
            val t = client.native
            // Cold start first: a popularity page flagged ColdStart.
            val cold = rankRequest { limit = 5; now = instant(NOW) }
            assertEquals(comparable(t.rank(cold)), comparable(t.rankPage(cold)))
            assertEquals(Fallback.ColdStart, t.rankPage(cold).fallback)

            client.track(Event.purchase("toys-2", at = instant(NOW - 3 * DAY)))
            client.track(Event.view("books-1", at = instant(NOW - DAY), sessionId = "s1"))
            client.track(Event.addToCart("toys-3", at = instant(NOW - 3_600), sessionId = "s1"))
            client.setPreferences(listOf(Attribute.category("shoes")))
            client.defineCandidateSet("mixed", listOf("shoes-0", "toys-3", "ghost", "books-1", "toys-2", "books-2"))
            val requests = listOf(
                rankRequest { limit = 12; now = instant(NOW); sessionId = "s1" },
                rankRequest { candidateSet = "mixed"; limit = 4; now = instant(NOW) },
                rankRequest {
                    limit = 6; now = instant(NOW); explore(rate = 0.5, seed = 7)
                    rules { pin("books-3", 0); boost(Attribute.brand("zeta"), 2.0) }
                },
                rankRequest { kind = SurfaceKind.SIMILAR; context("toys-1"); limit = 3; now = instant(NOW) },
                rankRequest { kind = SurfaceKind.TRENDING; limit = 3; now = instant(NOW) },
                rankRequest { limit = 5; now = instant(NOW); deadline = java.time.Duration.ZERO },
            )
            for (request in requests) {
                val full = t.rank(request)
                val page = t.rankPage(request)
                assertEquals(comparable(full), comparable(page), "$request")
                assertTrue(page.responseId.isNotEmpty() && page.responseId != full.responseId, "a fresh id per call")
            }
            assertEquals(listOf("ghost"), t.rankPage(requests[1]).unknownIds)
            val reasons = requests.flatMap { r -> t.rankPage(r).items.flatMap { it.reasons } }.map { it::class }.toSet()
            assertTrue(reasons.size >= 5, "the pages carry several kinds of reasons: $reasons")
            assertTrue(t.rankPage(requests.last()).fallback is Fallback.DeadlineExceeded)
        }
    }

    /** Each thread reuses one native call status (bindings/generate.sh); a failed call hands it over. */
    @Test
    fun failuresAndSuccessesAlternateOnOneThread(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "alternate").use { client ->
            val t = client.native
            val ok = rankRequest { limit = 3; now = instant(NOW) }
            val expected = comparable(t.rank(ok))
            repeat(50) { i ->
                val e = assertFailsWith<TailorException.NotFound> { t.rankPage(rankRequest { candidateSet = "nope-$i" }) }
                assertTrue("nope-$i" in e.message.orEmpty(), e.message)
                assertFailsWith<TailorException.InvalidInput> { t.rank(rankRequest { limit = 0 }) }
                assertEquals(expected, comparable(t.rankPage(ok)))
                assertEquals(expected, comparable(t.rank(ok)))
            }
        }
    }

    @Test
    fun aDamagedPageIsAnErrorNotACrash(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "damaged").use { client ->
            val bytes = client.native.rankPacked(rankRequest { limit = 3; now = instant(NOW) })
            assertEquals(RankPage.VERSION, bytes[0].toInt())
            for (cut in bytes.indices) {
                assertFailsWith<TailorException.InvalidInput>("cut at $cut") { RankPage.read(bytes.copyOf(cut)) }
            }
            assertFailsWith<TailorException.InvalidInput> { RankPage.read(bytes + 0.toByte()) }
            val newer = bytes.copyOf().also { it[0] = (RankPage.VERSION + 1).toByte() }
            val e = assertFailsWith<TailorException.InvalidInput> { RankPage.read(newer) }
            assertTrue("version" in e.message.orEmpty(), e.message)
        }
    }
}
