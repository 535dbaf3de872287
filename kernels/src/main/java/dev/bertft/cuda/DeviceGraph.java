package dev.bertft.cuda;

/** A captured sequence of device work (a CUDA graph), run again as a whole on the stream. */
interface DeviceGraph {
    /** Queues the captured work once more, on the addresses it was captured with. */
    void launch();

    /** Frees the graph; it is not launched again. */
    void destroy();
}
