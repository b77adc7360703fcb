// A shop's first screen with Tailor, as a JVM app would write it: built against the published
// artifact only (dev.tailor:tailor-jvm from bindings/kotlin/build/maven and the dependencies its pom
// declares). Usage: Main <data dir> <catalog.csv.gz> <events.csv.gz>
import dev.tailor.Event
import dev.tailor.Impressions
import dev.tailor.Reason
import dev.tailor.TailorClient
import dev.tailor.TailorException
import dev.tailor.of
import dev.tailor.purchase
import dev.tailor.view
import java.io.File
import java.time.Instant
import kotlinx.coroutines.runBlocking

fun main(args: Array<String>): Unit = runBlocking {
    val (dataDir, catalog, events) = args.map(::File)
    val tailor = TailorClient.open(dataDir.resolve("tailor"))        // a File, as Android's filesDir
    println("imported ${tailor.importCatalogCsv(catalog)} items")
    // The shop's order history: no shopper's profile, only popularity for the cold-start page.
    tailor.importEventsCsv(events, userId = "-")
    val cold = tailor.rank { limit = 3 }
    println("cold start (${cold.fallback}): ${cold.items.map { "${it.itemId} ${it.reasons}" }}")
    check(cold.items.all { Reason.PopularNow in it.reasons })

    tailor.track(Event.view("85123A", at = Instant.now()))
    tailor.track(Event.purchase("85123A", quantity = 2))
    val page = tailor.rank {
        limit = 5
        rules { pin("22423", position = 0) }
    }
    for (item in page.items) println("${item.itemId} ${item.reasons}")
    check(page.items[0].itemId == "22423" && Reason.Pinned in page.items[0].reasons)
    tailor.recordImpressions(Impressions.of(page, surface = "home"))

    val status = tailor.status()
    println("%d items, %d events, %d pending".format(status.catalogItems, status.profileEvents, status.pendingEvents))

    try {
        tailor.rank { limit = -1 }
    } catch (e: TailorException.InvalidInput) {
        println("rejected: ${e.message}")
    }
    tailor.shutdown()
    try {
        tailor.status()
    } catch (e: TailorException.Closed) {
        println("after close: ${e.message}")
    }
    println("sample ok")
}
