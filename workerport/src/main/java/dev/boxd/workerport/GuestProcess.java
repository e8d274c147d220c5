package dev.boxd.workerport;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;

/** A command running in a guest; its output flows to the sinks given when it started. */
public interface GuestProcess extends AutoCloseable {

  /** The command's stdin; close it to send end-of-file. */
  OutputStream stdin();

  /** Waits for the exit code; throws a {@link dev.boxd.core.BoxdException} if it does not come within {@code wait}. */
  int awaitExit(Duration wait);

  /** A new window size for a command that runs on a terminal. */
  void resize(int rows, int cols) throws IOException;

  /** Stops listening; a command still running is killed with its process group. */
  @Override
  void close();
}
