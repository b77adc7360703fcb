package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * `TailorClient.rank` takes one native call (NativeRank.kt, core/src/tailor/native.rs): it must
 * answer exactly as the generated `rank` does, for small and large pages and requests, fail with
 * the same exceptions, and stop cleanly at close. Mirrors core/tests/it/native_page.rs.
 */
class NativeRankTest {
    @TempDir
    lateinit var tmp: Path

    @Test
    fun clientRankAnswersAsTheGeneratedRankDoes(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "same").use { client ->
            client.track(Event.purchase("toys-2", at = instant(NOW - 3 * DAY)))
            client.track(Event.view("books-1", at = instant(NOW - DAY), sessionId = "s1"))
            client.defineCandidateSet("mixed", listOf("shoes-0", "toys-3", "ghost", "books-1"))
            val requests = listOf(
                rankRequest { limit = 5; now = instant(NOW) },
                rankRequest { candidateSet = "mixed"; limit = 4; now = instant(NOW) },
                rankRequest { limit = 6; now = instant(NOW); sessionId = "s1"; rules { pin("books-3", 0) } },
                rankRequest { kind = SurfaceKind.SIMILAR; context("toys-1"); limit = 3; now = instant(NOW) },
            )
            for (request in requests) {
                val native = client.native.rank(request)
                val fast = client.rank(request)
                assertEquals(comparable(native), comparable(fast), "$request")
                assertTrue(fast.responseId.isNotEmpty() && fast.responseId != native.responseId)
                assertEquals(comparable(native), comparable(client.rankBlocking(request)))
            }
            assertEquals(listOf("ghost"), client.rank(requests[1]).unknownIds)
        }
    }

    /** Pages and requests larger than the 16 kB buffers a thread starts with. */
    @Test
    fun largePagesAndLargeRequestsArriveWhole(): Unit = runBlocking {
        TailorClient.open(tmp.resolve("large")).use { client ->
            val items = (0 until 3000).map { i ->
                Item(id = "item-with-a-long-identifier-$i", title = "Item $i", category = "c${i % 7}", price = 1.0 + i % 50)
            }
            client.upsertItems(items)
            client.track(Event.view("item-with-a-long-identifier-3", at = instant(NOW - DAY)))
            val all = rankRequest { limit = 1000; now = instant(NOW) }
            val page = client.rank(all)
            assertEquals(1000, page.items.size)
            assertEquals(comparable(client.native.rank(all)), comparable(page))

            val ids = items.map { it.id } + (0 until 2000).map { "unknown-$it" }
            val many = rankRequest { candidates(*ids.toTypedArray()); limit = 20; now = instant(NOW) }
            val ranked = client.rank(many)
            assertEquals(2000, ranked.unknownIds.size)
            assertEquals(comparable(client.native.rank(many)), comparable(ranked))
            // The thread's buffers shrink back after the large calls; small calls still work.
            assertEquals(3, client.rank(rankRequest { limit = 3; now = instant(NOW) }).items.size)
        }
    }

    @Test
    fun failuresAreTheGeneratedExceptions(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "errors").use { client ->
            val unknown = rankRequest { candidateSet = "nope"; now = instant(NOW) }
            val fast = assertFailsWith<TailorException.NotFound> { client.rank(unknown) }
            val native = assertFailsWith<TailorException.NotFound> { client.native.rank(unknown) }
            assertEquals(native.message, fast.message)
            assertFailsWith<TailorException.InvalidInput> { client.rank(rankRequest { limit = 0 }) }
            assertFailsWith<TailorException.InvalidInput> { client.rankBlocking(rankRequest { limit = 0 }) }
            // A failed call leaves the thread's buffers fit for the next one.
            assertEquals(3, client.rank(rankRequest { limit = 3; now = instant(NOW) }).items.size)
        }
    }

    @Test
    fun afterCloseRankFailsWithClosed(): Unit = runBlocking {
        val client = openWithLearningCatalog(tmp, "closed")
        client.close()
        assertFailsWith<TailorException.Closed> { client.rank(rankRequest { limit = 3 }) }
        assertFailsWith<TailorException.Closed> { client.rankBlocking(rankRequest { limit = 3 }) }
    }

    /** Ranks racing a close either finish with a page or fail with Closed; none crashes. */
    @Test
    fun ranksRacingACloseEndCleanly() {
        val client = runBlocking { openWithLearningCatalog(tmp, "race") }
        val pool = Executors.newFixedThreadPool(6)
        val start = CountDownLatch(1)
        val outcomes = (0 until 6).map {
            pool.submit<Pair<Int, Int>> {
                start.await()
                var pages = 0
                var closed = 0
                repeat(300) {
                    try {
                        if (client.rankBlocking(rankRequest { limit = 5; now = instant(NOW) }).items.size == 5) pages++
                    } catch (e: TailorException.Closed) {
                        closed++
                    }
                }
                pages to closed
            }
        }
        start.countDown()
        Thread.sleep(20)
        client.close()
        pool.shutdown()
        assertTrue(pool.awaitTermination(60, TimeUnit.SECONDS))
        val results = outcomes.map { it.get() }
        assertEquals(6 * 300, results.sumOf { it.first + it.second }, "every call gave a page or Closed")
        assertTrue(results.sumOf { it.second } > 0, "calls after close fail with Closed")
    }

    /** Ids and titles beyond ASCII take the encoder path of the request writer; ASCII the fast one. */
    @Test
    fun idsInAnyScriptRoundTrip(): Unit = runBlocking {
        TailorClient.open(tmp.resolve("unicode")).use { client ->
            val ids = listOf("café-1", "日本-2", "emoji-😀-3", "plain-4", "ÅÄÖ-5")
            client.upsertItems(ids.mapIndexed { i, id -> Item(id = id, title = "Tïtle $id", category = "c", price = 1.0 + i) })
            val request = rankRequest { candidates(*(ids + "naïve-unknown").toTypedArray()); limit = 10; now = instant(NOW) }
            val page = client.rank(request)
            assertEquals(ids.toSet(), page.items.map { it.itemId }.toSet())
            assertEquals(listOf("naïve-unknown"), page.unknownIds)
            assertEquals(comparable(client.native.rank(request)), comparable(page))
            // A lone surrogate is not text: refused before it reaches the core.
            assertFailsWith<TailorException.InvalidInput> { client.rank(rankRequest { candidates("bad-\uD800"); now = instant(NOW) }) }
        }
    }
}
