package dev.boxd.vmm.agent;

/**
 * The guest agent reported a failure for one channel, or the connection to it was lost. A failure
 * the agent reported carries the guest's errno, so callers decide on the number, not the text.
 */
public final class AgentException extends RuntimeException {
  // Linux x86-64 errno values (the guest's), for callers that map a failure to an error code.
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EACCES = 13;
  public static final int ENOTDIR = 20;
  public static final int EISDIR = 21;
  public static final int EINVAL = 22;
  public static final int ENOSPC = 28;

  private final int errno;

  public AgentException(String message) {
    this(message, 0);
  }

  public AgentException(String message, int errno) {
    super(message);
    this.errno = errno;
  }

  public AgentException(String message, Throwable cause) {
    super(message, cause);
    this.errno = 0;
  }

  /** The guest errno behind the failure; 0 when there was none (bad request, lost connection). */
  public int errno() {
    return errno;
  }
}
