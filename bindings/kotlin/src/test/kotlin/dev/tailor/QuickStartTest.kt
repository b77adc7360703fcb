package dev.tailor

import java.io.File
import java.nio.file.Path
import java.time.Instant
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.io.TempDir

/**
 * The Kotlin quick start of bindings/README.md. The lines between BEGIN/END are the README snippet,
 * verbatim (bindings/kotlin/test.sh fails when the two differ).
 */
class QuickStartTest {
    @Test
    fun readmeQuickStart(@TempDir tmp: Path): Unit = runBlocking {
        val filesDir = tmp.resolve("tailor").toFile() // on Android: context.filesDir.resolve("tailor")
        val catalogCsv = File(TestSupport.path("cli/data/catalog.csv.gz"))
        // BEGIN README
        val tailor = TailorClient.open(filesDir)     // a File (or Path): context.filesDir.resolve("tailor")
        tailor.importCatalogCsv(catalogCsv)          // a File; or upsertItems(listOf(Item(...)))
        tailor.track(Event.view("85123A", at = Instant.now()))
        tailor.track(Event.purchase("85123A", quantity = 2))
        val page = tailor.rank {
            limit = 10                               // Ints; a negative one is TailorException.InvalidInput
            rules { pin("22423", position = 0) }
        }
        for (item in page.items) println("${item.itemId} ${item.reasons}")  // 22423 [Pinned]
        println("%d events".format(tailor.status().profileEvents))          // counts are Long
        tailor.shutdown()                            // suspending close; later calls throw Closed
        // END README
        assertEquals(10, page.items.size)
        assertEquals("22423", page.items[0].itemId)
        assertTrue(page.personalized, "${page.fallback}")
        val bought = page.items.first { it.itemId == "85123A" }
        assertTrue(Reason.BoughtBefore(1L) in bought.reasons, "${bought.reasons}")
        assertEquals("[Pinned]", page.items[0].reasons.toString())
        assertFailsWith<TailorException.Closed> { tailor.status() }
    }
}
