package dev.boxd.sdk;

/** @param resumeUs the VMM's own time to continue the VM, in microseconds */
public record ResumeResult(long resumeUs) {}
