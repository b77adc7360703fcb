package dev.tailor

import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/** One object shared by many threads: every event lands exactly once and every rank succeeds. */
class ConcurrencyTest {
    private val threads = 8
    private val singles = 40
    private val batch = 10

    @Test
    fun eightThreadsTrackAndRankOnOneObject(@TempDir tmp: Path) {
        val t = Tailor.open(TailorConfig(directory = tmp.toString()))
        t.importCatalogCsv(TestSupport.catalogCsv)
        val ids = listOf("shoes-1", "books-2", "toys-3", "kitchen-4", "garden-9") // garden-9: pending
        val start = CountDownLatch(1)
        val ranked = AtomicInteger()
        val pool = Executors.newFixedThreadPool(threads)
        val futures = (0 until threads).map { w ->
            pool.submit {
                start.await()
                for (i in 0 until singles) {
                    val kind = if (i % 5 == 4) EventKind.PURCHASE else EventKind.VIEW
                    t.track(Event(kind, ids[(w + i) % ids.size], timestamp = NOW - 1000L * w - i))
                    val page = t.rank(RankRequest(limit = 5u, now = NOW, sessionId = "s-$w"))
                    check(page.items.size == 5) { "page of ${page.items.size}" }
                    ranked.incrementAndGet()
                }
                val events = (0 until batch).map { i -> Event(EventKind.CLICK, ids[i % ids.size], timestamp = NOW - 5000L - i) }
                check(t.trackBatch(events).stored == batch.toUInt())
            }
        }
        start.countDown()
        futures.forEach { it.get(120, TimeUnit.SECONDS) } // rethrows a worker's failure
        pool.shutdown()
        val s = t.status()
        assertEquals((threads * (singles + batch)).toULong(), s.profileEvents)
        assertEquals(threads * singles, ranked.get())
        assertTrue(s.pendingEvents > 0uL, "garden-9 events stay pending")
        assertTrue(t.rank(RankRequest(limit = 5u, now = NOW)).personalized)
        t.closeStores()
        t.close()
    }

    @Test
    fun eightCoroutinesThroughTheClient(@TempDir tmp: Path): Unit = runBlocking {
        TailorClient.open(tmp.toString()).use { t ->
            t.importCatalogCsv(TestSupport.catalogCsv)
            val jobs = (0 until threads).map { w ->
                async(Dispatchers.Default) {
                    repeat(singles) { i ->
                        t.track(Event.view("toys-${1 + (w + i) % 4}", at = instant(NOW - i)))
                        t.rank { limit = 3; now = instant(NOW) }
                    }
                }
            }
            jobs.awaitAll()
            assertEquals((threads * singles).toLong(), t.status().profileEvents)
        }
    }
}
