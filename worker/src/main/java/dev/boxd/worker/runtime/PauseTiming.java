package dev.boxd.worker.runtime;

/** How long the VMM took to stop or continue the guest, in microseconds (the JSON's suspend_us/resume_us). */
public record PauseTiming(long micros) {}
