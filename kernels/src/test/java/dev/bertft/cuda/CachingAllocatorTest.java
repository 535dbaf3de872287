package dev.bertft.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocator's bucketing, reuse and out-of-memory handling, over a fake device of fixed capacity. */
class CachingAllocatorTest {

    /** A device with {@code capacity} bytes; handles are distinct objects recording their size. */
    static final class FakeMemory implements DeviceMemory<FakeMemory.Handle> {
        record Handle(long bytes, int serial) {}

        final long capacity;
        long used;
        int serial;
        final List<Long> allocations = new ArrayList<>();
        final List<Handle> freed = new ArrayList<>();

        FakeMemory(long capacity) {
            this.capacity = capacity;
        }

        @Override
        public Handle allocate(long bytes) {
            if (used + bytes > capacity) return null;
            used += bytes;
            allocations.add(bytes);
            return new Handle(bytes, serial++);
        }

        @Override
        public void free(Handle block) {
            used -= block.bytes();
            freed.add(block);
        }
    }

    @Test
    void bucketsAreMultiplesOf512BelowOneMebibyteAndQuarterOctavesAbove() {
        assertEquals(512, CachingAllocator.bucket(0));
        assertEquals(512, CachingAllocator.bucket(1));
        assertEquals(512, CachingAllocator.bucket(512));
        assertEquals(1024, CachingAllocator.bucket(513));
        assertEquals((1 << 20) - 512, CachingAllocator.bucket((1 << 20) - 600));
        assertEquals(1 << 20, CachingAllocator.bucket(1 << 20));
        // 1 MiB + 1 byte rounds to the next quarter of the octave: 1.25 MiB
        assertEquals(5L << 18, CachingAllocator.bucket((1 << 20) + 1));
        assertEquals(3L << 19, CachingAllocator.bucket((5L << 18) + 1));
        assertEquals(7L << 18, CachingAllocator.bucket((3L << 19) + 1));
        assertEquals(2L << 20, CachingAllocator.bucket((7L << 18) + 1));
        long big = 3_000_000_000L; // 2^31 ≤ big < 2^32: steps of 2^29
        assertEquals(3L << 30, CachingAllocator.bucket(big));
    }

    @Test
    void slackIsAtMostAQuarterAndBucketsNeverShrink() {
        long previous = 0;
        for (long bytes = 1; bytes < (1L << 34); bytes = bytes * 5 / 4 + 37) {
            long b = CachingAllocator.bucket(bytes);
            assertTrue(b >= bytes, "bucket below request " + bytes);
            assertTrue(b >= previous, "buckets not monotone at " + bytes);
            if (bytes >= 1 << 20) assertTrue(b - bytes <= bytes / 4, "more than 25% slack at " + bytes);
            else assertTrue(b - bytes < 512, "more than one granule of slack at " + bytes);
            previous = b;
        }
    }

    @Test
    void releasedBlocksAreReusedForTheSameBucketWithoutTheDriver() {
        FakeMemory mem = new FakeMemory(1L << 30);
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {}, Long.MAX_VALUE);
        var a = alloc.allocate(1000, "a");
        assertEquals(1024, a.bytes());
        alloc.release(a);
        var b = alloc.allocate(900, "b"); // same 1024-byte bucket
        assertSame(a.handle(), b.handle());
        var c = alloc.allocate(3000, "c"); // another bucket: a new driver block
        assertNotSame(a.handle(), c.handle());
        assertEquals(List.of(1024L, 3072L), mem.allocations);
        var s = alloc.stats();
        assertEquals(1024 + 3072, s.inUseBytes());
        assertEquals(0, s.cachedBytes());
        assertEquals(2, s.driverAllocations());
        assertEquals(1, s.reuses());
        alloc.release(b);
        alloc.release(c);
        assertEquals(0, alloc.stats().inUseBytes());
        assertEquals(4096, alloc.stats().cachedBytes());
        assertEquals(4096, alloc.stats().peakInUseBytes());
    }

    @Test
    void onceTheCacheOutgrowsThePeakALargeRequestTakesTheSmallestFreeBlockUpToTwiceItsBucket() {
        FakeMemory mem = new FakeMemory(1L << 32);
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {}, Long.MAX_VALUE);
        long mib = 1 << 20;
        var huge = alloc.allocate(9 * mib, "a"); // bucket 10 MiB
        var large = alloc.allocate(4 * mib, "b");
        alloc.release(huge);
        alloc.release(large);
        var small = alloc.allocate(3 * mib, "c"); // 4 MiB would fit, but the cache (14 MiB) is not above the peak (14)
        alloc.release(small);
        assertEquals(List.of(10 * mib, 4 * mib, 3 * mib), mem.allocations);
        // 17 MiB cached, above the peak: a miss takes the smallest block up to twice its bucket
        var d = alloc.allocate(2 * mib, "d");
        assertSame(small.handle(), d.handle());
        assertEquals(3 * mib, d.bytes(), "the block keeps its own size");
        var e = alloc.allocate(4 * mib - 100, "e"); // its own bucket
        assertSame(large.handle(), e.handle());
        var f = alloc.allocate(4 * mib, "f"); // 10 MiB cached, not above the peak: the driver, though 10 MiB is free
        assertEquals(4 * mib, f.bytes());
        assertEquals(4, mem.allocations.size());
        assertEquals(11 * mib, alloc.stats().inUseBytes());
        alloc.release(d);
        assertSame(d.handle(), alloc.allocate(3 * mib, "g").handle(), "back on its own bucket's list");
    }

    /** A captured graph's free blocks serve only its capture: they do not count as shared cache until its pool closes. */
    @Test
    void aPoolsFreeBlocksDoNotCountAsSharedCache() {
        FakeMemory mem = new FakeMemory(1L << 32);
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {}, Long.MAX_VALUE);
        long mib = 1 << 20;
        var shared = alloc.allocate(4 * mib, "shared");
        alloc.release(shared);
        CachingAllocator<FakeMemory.Handle>.Pool pool = alloc.openPool();
        var b = alloc.allocate(9 * mib, "captured");
        var c = alloc.allocate(8 * mib, "captured");
        alloc.release(b);
        alloc.release(c);
        pool.endCapture();
        // 22 MiB cached against a peak of 18, but 18 of them are the pool's: the shared 4 MiB stay with their bucket
        var d = alloc.allocate(3 * mib, "d");
        assertNotSame(shared.handle(), d.handle());
        assertEquals(4, mem.allocations.size());
        pool.close();   // the graph is dropped: its blocks are everyone's
        assertSame(shared.handle(), alloc.allocate(3 * mib, "e").handle());
    }

    @Test
    void aSmallRequestTakesOnlyItsOwnBucket() {
        FakeMemory mem = new FakeMemory(1L << 30);
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {}, Long.MAX_VALUE);
        alloc.release(alloc.allocate(4096, "a"));
        alloc.release(alloc.allocate(8192, "cache above the peak"));
        var b = alloc.allocate(3000, "b");
        assertEquals(3072, b.bytes(), "below 1 MiB a free 4096-byte block does not serve a 3072-byte bucket");
        assertEquals(List.of(4096L, 8192L, 3072L), mem.allocations);
    }

    /**
     * Prediction sorted longest first: batches of 32 × T × 768 floats for T = 512, 504, ..., 8, three
     * such tensors live per batch. With exact buckets each of the 19 buckets would cache a set of
     * blocks from the driver; here the cache grows so only until it holds more than the peak in use,
     * then a batch takes the blocks a longer one left.
     */
    @Test
    void descendingBatchLengthsReuseTheLongerBatchesBlocks() {
        FakeMemory mem = new FakeMemory(1L << 34);
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {}, Long.MAX_VALUE);
        Set<Long> buckets = new TreeSet<>();
        int afterFirstPass = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (int t = 512; t >= 8; t -= 8) {
                long bytes = 32L * t * 768 * 4;
                buckets.add(CachingAllocator.bucket(bytes));
                List<CachingAllocator.Block<FakeMemory.Handle>> live = new ArrayList<>();
                for (int i = 0; i < 3; i++) live.add(alloc.allocate(bytes, "activation"));
                live.forEach(alloc::release);
            }
            if (pass == 0) afterFirstPass = mem.allocations.size();
        }
        assertEquals(19, buckets.size());
        var s = alloc.stats();
        assertTrue(afterFirstPass <= buckets.size(), afterFirstPass + " driver blocks, where exact buckets take " + 3 * buckets.size());
        assertTrue(s.cachedBytes() < 3 * s.peakInUseBytes(), s.toString());
        assertEquals(afterFirstPass, mem.allocations.size(), "the next window is served from the cache");
    }

    @Test
    void whenTheDeviceIsFullCachedBlocksGoBackToTheDriverFirst() {
        FakeMemory mem = new FakeMemory(4096);
        int[] reclaims = {0};
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> reclaims[0]++, Long.MAX_VALUE);
        var a = alloc.allocate(2048, "a");
        var b = alloc.allocate(2048, "b");
        alloc.release(a);
        alloc.release(b);
        // 4096 does not fit next to 4096 cached bytes: the cache is emptied, then it fits
        var c = alloc.allocate(4096, "c");
        assertEquals(4096, c.bytes());
        assertEquals(2, mem.freed.size());
        assertEquals(0, reclaims[0]);
        assertEquals(2, alloc.stats().driverFrees());
    }

    @Test
    void reclaimLetsTheCollectorReturnBlocksBeforeGivingUp() {
        FakeMemory mem = new FakeMemory(4096);
        List<CachingAllocator.Block<FakeMemory.Handle>> dropped = new ArrayList<>();
        List<CachingAllocator<FakeMemory.Handle>> self = new ArrayList<>();
        // the "garbage collector": releases blocks whose tensors were dropped
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {
            dropped.forEach(self.get(0)::release);
            dropped.clear();
        }, Long.MAX_VALUE);
        self.add(alloc);
        dropped.add(alloc.allocate(4096, "garbage"));
        var fresh = alloc.allocate(4096, "fresh");
        assertEquals(4096, fresh.bytes());
        assertEquals(0, alloc.stats().cachedBytes());
    }

    @Test
    void afterCollectEveryDriverBytesAMissCollectsFirstAndTakesWhatComesBack() {
        FakeMemory mem = new FakeMemory(1L << 30);
        List<CachingAllocator.Block<FakeMemory.Handle>> dead = new ArrayList<>();
        List<CachingAllocator<FakeMemory.Handle>> self = new ArrayList<>();
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> {
            dead.forEach(self.get(0)::release);
            dead.clear();
        }, 4096);
        self.add(alloc);
        // a "training step" of four 1 KiB tensors that die unnoticed: the first 4 KiB come from the driver
        for (int i = 0; i < 4; i++) dead.add(alloc.allocate(1024, "step 1"));
        assertEquals(4, mem.allocations.size());
        assertEquals(0, alloc.stats().collections());
        // the next step's first request would pass 4 KiB since the last collection: collect, then reuse
        for (int i = 0; i < 4; i++) dead.add(alloc.allocate(1024, "step 2"));
        assertEquals(4, mem.allocations.size(), "step 2 is served from the blocks step 1 left");
        assertEquals(1, alloc.stats().collections());
        assertEquals(4, alloc.stats().reuses());
        // a live tensor of another size comes from the driver and counts toward the next collection
        alloc.allocate(2048, "weights");
        assertEquals(5, mem.allocations.size());
        assertEquals(1, alloc.stats().collections());
    }

    @Test
    void outOfMemorySaysWhatWasAllocatedAndHowMemoryStood() {
        FakeMemory mem = new FakeMemory(8192);
        int[] reclaims = {0};
        CachingAllocator<FakeMemory.Handle> alloc = new CachingAllocator<>(mem, () -> reclaims[0]++, Long.MAX_VALUE);
        alloc.allocate(8192, "weights");
        var e = assertThrows(DeviceOutOfMemoryException.class, () -> alloc.allocate(2 << 20, "a F32 tensor of shape [512, 1024]"));
        assertTrue(e.getMessage().contains("2.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("a F32 tensor of shape [512, 1024]"), e.getMessage());
        assertTrue(e.getMessage().contains("in use 8192 B"), e.getMessage());
        assertEquals(CachingAllocator.RECLAIM_ATTEMPTS, reclaims[0]);
    }
}
