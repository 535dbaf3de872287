package dev.bertft.cuda;

/** What describe() reports about the GPU; cudaVersion as the driver gives it (13000 = 13.0). */
record DeviceInfo(String name, int cudaVersion, int ccMajor, int ccMinor, int multiprocessors, long totalMemory) {}
