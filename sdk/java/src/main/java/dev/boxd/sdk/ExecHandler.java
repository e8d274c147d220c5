package dev.boxd.sdk;

/**
 * Receives a streaming exec's output as it comes, one callback at a time, on a gRPC thread (so a
 * callback must not block for long: output waits meanwhile).
 */
public interface ExecHandler {
  void onStdout(byte[] data);

  void onStderr(byte[] data);

  /** The command ended; 124 when its timeout killed it. */
  default void onExit(int exitCode) {}

  /** The call failed (the VM is gone, the connection broke); no {@link #onExit} follows. */
  default void onError(BoxdError error) {}
}
