package dev.bertft.cli;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The heap flags the relaunch adds, from the heap size and whether the user set the initial size. */
class LauncherHeapFlagsTest {
    private static final long GB = 1L << 30;

    @Test
    void youngGenerationStopsAt256MbOnALargeHeap() {
        // 75 % of a 24 GB machine: before, a 2 GB young generation, whose eden every young GC touched
        assertEquals(List.of("-Xmn256m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy", "-Xms18432m"),
                Launcher.heapFlags(18 * GB, false));
        assertEquals(List.of("-Xmn256m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy", "-Xms6144m"),
                Launcher.heapFlags(6 * GB, false));
    }

    @Test
    void smallHeapKeepsAnEighth() {
        assertEquals(List.of("-Xmn128m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy", "-Xms1024m"),
                Launcher.heapFlags(GB, false));
    }

    @Test
    void usersInitialSizeWins() {
        assertEquals(List.of("-Xmn256m", "-XX:SurvivorRatio=4", "-XX:-UseAdaptiveSizePolicy"), Launcher.heapFlags(8 * GB, true));
    }
}
