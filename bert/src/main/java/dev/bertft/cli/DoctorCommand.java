package dev.bertft.cli;

import picocli.CommandLine.Command;

/** What this machine offers bert-ft: Java, SIMD, threads, memory (and later the GPU). */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = "Report the Java runtime, SIMD width, threads, memory and GPU.")
final class DoctorCommand implements Runnable {
    @Override
    public void run() {
        Runtime rt = Runtime.getRuntime();
        System.out.println("java:     " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        System.out.println("simd:     " + dev.bertft.tensor.Simd.describe());
        System.out.println("threads:  " + rt.availableProcessors() + " cores");
        System.out.println("memory:   max heap " + (rt.maxMemory() >> 20) + " MiB");
    }
}
