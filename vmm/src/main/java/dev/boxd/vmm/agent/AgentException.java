package dev.boxd.vmm.agent;

/** The guest agent reported a failure for one channel, or the connection to it was lost. */
public final class AgentException extends RuntimeException {
  public AgentException(String message) {
    super(message);
  }

  public AgentException(String message, Throwable cause) {
    super(message, cause);
  }
}
