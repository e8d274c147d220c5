package dev.boxd.worker.runtime;

/**
 * What reached a VM from outside, as counters: frames delivered to it on its network, and the
 * data-plane sessions (exec, copy, connect) started and still open. A VM whose activity did not
 * change between two looks, with no session open, was idle in between.
 */
public record InboundActivity(long frames, long sessionsStarted, int sessionsOpen) {

  /** Whether nothing came in since {@code earlier} and nothing is in progress now. */
  public boolean idleSince(InboundActivity earlier) {
    return sessionsOpen == 0 && frames == earlier.frames && sessionsStarted == earlier.sessionsStarted;
  }
}
