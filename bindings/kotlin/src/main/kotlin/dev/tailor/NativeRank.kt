// TailorClient.rank in one JNA call (core/src/tailor/native.rs, `tailor_rank_page`).
//
// The generated `Tailor.rank` makes four JNA calls per rank (clone the handle, allocate the
// request's buffer, the call, free the response), and JNA builds each RustBuffer and call-status
// Structure by reflection: 15-18 us per call, a third of a 55 us rank. This path passes plain
// integers only: a handle the client owns, the request written by the generated
// FfiConverterTypeRankRequest into a per-thread native buffer, and a per-thread buffer that
// receives the packed page (RankPage.kt) or a serialized TailorError. The bytes are uniffi's own
// formats and the packed page, so the generated code still defines every type and error.
package dev.tailor

import com.sun.jna.Native
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/** The two hand-written C functions, bound with JNA direct mapping like the generated ones. */
internal object NativeRankLib {
    init {
        Native.register(
            NativeRankLib::class.java,
            System.getProperty("uniffi.component.tailor.libraryOverride") ?: "tailor",
        )
    }

    external fun tailor_rank_page(handle: Long, request: Long, requestLen: Int, out: Long, outCapacity: Int): Long

    external fun tailor_take_answer(out: Long, outCapacity: Int): Long
}

/**
 * Ranks through `tailor_rank_page` with its own clone of [native]'s handle, freed by [close] once
 * no call is running (or by the generated cleaner if the client is dropped unclosed).
 */
internal class NativeRank(native: Tailor) : AutoCloseable {
    /** A second generated object around the cloned handle: it owns the clone and frees it. */
    private val owner: Tailor
    private val handle: Long

    /** 1 while open, plus one per running call; the handle is freed when it reaches 0. */
    private val calls = AtomicLong(1)
    private val closed = AtomicBoolean(false)

    init {
        handle = FfiConverterTypeTailor.lower(native)
        owner = FfiConverterTypeTailor.lift(handle)
    }

    fun rank(request: RankRequest): RankResponse {
        enter()
        try {
            return call(request)
        } finally {
            leave()
        }
    }

    override fun close() {
        if (closed.compareAndSet(false, true)) leave()
    }

    private fun enter() {
        while (true) {
            val c = calls.get()
            if (c == 0L) throw TailorException.Closed("this TailorClient was closed; open a new one")
            if (calls.compareAndSet(c, c + 1)) return
        }
    }

    private fun leave() {
        if (calls.decrementAndGet() == 0L) owner.destroy()
    }

    private fun call(request: RankRequest): RankResponse {
        val buffers = perThread.get()
        val requestLen = buffers.writeRequest(request)
        var answer = NativeRankLib.tailor_rank_page(
            handle, buffers.requestAt, requestLen, buffers.outAt, buffers.out.capacity(),
        )
        if (length(answer) > buffers.out.capacity()) {
            buffers.growOut(length(answer))
            answer = NativeRankLib.tailor_take_answer(buffers.outAt, buffers.out.capacity())
        }
        val bytes = ByteArray(length(answer))
        buffers.out.clear()
        buffers.out.get(bytes)
        buffers.shrink()
        return when (answer ushr 32) {
            0L -> RankPage.read(bytes)
            1L -> throw FfiConverterTypeTailorError.read(ByteBuffer.wrap(bytes))
            else -> throw InternalException(String(bytes, Charsets.UTF_8))
        }
    }

    private fun length(answer: Long): Int = (answer and 0xffff_ffffL).toInt()

    /**
     * A thread's two native buffers, reused by its calls. They grow to fit and shrink back after a
     * call that needed more than [KEEP] bytes, so a thread pool does not hold large buffers.
     */
    private class Buffers {
        var request: ByteBuffer = ByteBuffer.allocateDirect(START)
        var requestAt: Long = address(request)
        var out: ByteBuffer = ByteBuffer.allocateDirect(START)
        var outAt: Long = address(out)

        /** Writes [value] with uniffi's serializer (big-endian, as a RustBuffer); returns its length. */
        fun writeRequest(value: RankRequest): Int {
            val size = FfiConverterTypeRankRequest.allocationSize(value).toLong()
            if (size > Int.MAX_VALUE) throw TailorException.InvalidInput("rank request of $size bytes")
            if (size > request.capacity() || request.capacity() > KEEP) {
                request = ByteBuffer.allocateDirect(maxOf(size.toInt(), START))
                requestAt = address(request)
            }
            request.clear()
            try {
                FfiConverterTypeRankRequest.write(value, request)
            } catch (e: java.nio.charset.CharacterCodingException) {
                throw notTextError()
            }
            return request.position()
        }

        fun growOut(size: Int) {
            out = ByteBuffer.allocateDirect(size)
            outAt = address(out)
        }

        fun shrink() {
            if (out.capacity() > KEEP) growOut(START)
        }
    }

    private companion object {
        const val START = 16 * 1024
        const val KEEP = 256 * 1024
        val perThread: ThreadLocal<Buffers> = ThreadLocal.withInitial { Buffers() }

        fun address(buffer: ByteBuffer): Long = com.sun.jna.Pointer.nativeValue(Native.getDirectBufferPointer(buffer))
    }
}
