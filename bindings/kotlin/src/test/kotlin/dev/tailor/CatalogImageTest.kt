package dev.tailor

import dev.tailor.TestSupport.NOW
import java.io.File
import java.nio.file.Path
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * A large catalog opens from `catalog.image` (written by `close`): the same pages after a reopen,
 * and a damaged `catalog.db` written again from the image instead of starting empty.
 */
class CatalogImageTest {
    @TempDir
    lateinit var tmp: Path

    private val items = (0 until 1_500).map { i ->
        Item(
            id = "p%05d".format(i), title = "Item $i", category = "c${i % 9}", price = 1.0 + i,
            tags = listOf("t${i % 13}"), popularity = (i * 37 % 1000).toDouble(),
            related = (1..5).map { k -> RelatedItem("p%05d".format((i * 31 + k * 7) % 1_540), k.toDouble()) },
        )
    }

    private suspend fun TailorClient.page() =
        rank { limit = 30; now = instant(NOW) }.items.map { it.itemId to it.score }

    @Test
    fun aLargeCatalogSurvivesReopenAndADamagedDatabase(): Unit = runBlocking {
        val dir = tmp.resolve("store").toFile()
        val expected = TailorClient.open(dir).use { t ->
            t.upsertItems(items)
            for (id in listOf("p00010", "p00011", "p00500")) t.track(Event.view(id, at = instant(NOW - 600)))
            t.page()
        }
        assertTrue(File(dir, "catalog.image").isFile, "close writes the image")
        TailorClient.open(dir).use { t -> assertEquals(expected, t.page()) }

        // Damage item pages in the middle of catalog.db; open still serves the whole catalog.
        val db = File(dir, "catalog.db")
        val bytes = db.readBytes()
        val middle = bytes.size / 4096 / 2
        for (i in middle * 4096 until (middle + 3) * 4096) bytes[i] = 0x5a
        db.writeBytes(bytes)
        TailorClient.open(dir).use { t ->
            assertEquals(expected, t.page())
            var notices = t.status().notices
            repeat(1_000) { if (notices.none { it.store == "catalog" }) { delay(20); notices = t.status().notices } }
            val notice = notices.single { it.store == "catalog" }
            assertTrue("written again from catalog.image (1500 items)" in notice.message, notice.message)
        }
        TailorClient.open(dir).use { t ->
            assertEquals(emptyList(), t.status().notices)
            assertEquals(1_500L, t.status().catalogItems)
            assertEquals(expected, t.page())
        }
    }
}
