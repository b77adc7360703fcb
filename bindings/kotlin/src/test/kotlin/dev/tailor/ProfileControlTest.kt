package dev.tailor

import dev.tailor.TestSupport.DAY
import dev.tailor.TestSupport.NOW
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * Erase that forgets the pages shown before it, interrupting a long write, and the encrypted
 * portable profile; mirrors core/tests/it/learning.rs, reliability.rs and privacy.rs.
 */
class ProfileControlTest {
    @TempDir
    lateinit var tmp: Path

    @Test
    fun eraseForgetsThePagesShownBeforeIt(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "erase").use { t ->
            t.track(Event.purchase("shoes-0", at = instant(NOW - DAY)))
            val page = t.rank { limit = 12; now = instant(NOW) }
            t.recordImpressions(Impressions.of(page, surface = "home", at = instant(NOW)))
            t.erase()
            // A click on the page shown before the erase teaches nothing: that page is gone.
            val clicked = page.ids[4]
            t.track(Event.click(clicked, at = instant(NOW + 60)))
            assertEquals(0L, t.metrics().engine.personalUpdates)
            val export = t.exportJson()
            for (id in page.ids.filter { it != clicked }) assertFalse(id in export, "$id in $export")
        }
    }

    @Test
    fun interruptStopsALongWriteWithNothingWritten(): Unit = runBlocking {
        openWithLearningCatalog(tmp, "interrupt").use { t ->
            val bulk = (0 until 100_000).map {
                Item(id = "bulk-$it", title = "bulk $it", category = "bulk", brand = "acme", price = 1.0)
            }
            val write = async(Dispatchers.IO) { runCatching { t.upsertItems(bulk) } }
            while (!write.isCompleted) {
                t.interrupt()
                delay(2)
            }
            val error = write.await().exceptionOrNull()
            assertTrue(error is TailorException.Interrupted, "$error")
            assertEquals(12L, t.status().catalogItems)
            // The next call runs normally.
            assertEquals(1, t.upsertItems(TestSupport.learningCatalog().take(1)))
        }
    }

    @Test
    fun aProfileSnapshotCarriesTasteToANewDevice(): Unit = runBlocking {
        val key = ByteArray(32) { it.toByte() }
        val blob = openWithLearningCatalog(tmp, "old").use { old ->
            repeat(40) { old.track(Event.purchase("books-${it % 4}", at = instant(NOW - DAY + it * 60L))) }
            old.exportProfileSnapshot(key)
        }
        openWithLearningCatalog(tmp, "new").use { new ->
            val wrongKey = ByteArray(32) { 9 }
            assertFailsWith<TailorException.InvalidInput> { new.importProfileSnapshot(blob, wrongKey) }
            val tampered = blob.copyOf().also { it[it.size / 2] = (it[it.size / 2] + 1).toByte() }
            assertFailsWith<TailorException.InvalidInput> { new.importProfileSnapshot(tampered, key) }
            assertEquals(0L, new.status().profileEvents)
            assertEquals(40, new.importProfileSnapshot(blob, key).stored)
            assertEquals(0, new.importProfileSnapshot(blob, key).stored, "importing twice adds nothing")
            val top = new.rank { limit = 4; now = instant(NOW) }
            assertTrue(top.personalized)
            assertTrue(top.ids.take(4).all { it.startsWith("books") }, "${top.ids}")
        }
    }
}
