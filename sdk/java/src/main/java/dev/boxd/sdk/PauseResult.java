package dev.boxd.sdk;

/** @param suspendUs the VMM's own time to freeze the VM, in microseconds */
public record PauseResult(long suspendUs) {}
