package dev.boxd.core.state;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import java.util.Objects;

/**
 * What applying a command did. A rejection is a value, the same on every replica (a name taken, a
 * quota reached); it changes nothing but the applied index.
 */
public sealed interface Result {

  /** The command took effect at log index {@code index}. */
  record Ok(long index) implements Result {}

  /**
   * The command was refused; {@code message} names the offending value and is safe to show, and
   * {@code reason} says why in a form code can branch on (the message is for people only).
   */
  record Rejected(ErrorCode code, String message, Reason reason) implements Result {
    public Rejected {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
      Objects.requireNonNull(reason, "reason");
    }

    /** A rejection no caller handles except by showing it. */
    public Rejected(ErrorCode code, String message) {
      this(code, message, Reason.NONE);
    }
  }

  /**
   * Why a command was refused, finer than its {@link ErrorCode}, for the rejections a proposer
   * recovers from. A reason is added when code needs to branch on it, never to replace the code.
   */
  enum Reason {
    /** Nothing to branch on: show the code and the message. */
    NONE,
    /**
     * The private or public address the proposer chose from its replica was taken by a command
     * applied meanwhile: choose again from a fresher replica and propose again.
     */
    ADDRESS_TAKEN,
    /** The VM name is held by a VM of another account: names are public host names, unique in the cluster. */
    NAME_TAKEN,
    /**
     * The public port (expose) or SSH port the proposer chose was taken by a command applied
     * meanwhile: choose again and propose again.
     */
    PORT_TAKEN
  }

  default boolean isOk() {
    return this instanceof Ok;
  }

  /** Returns the {@link Ok}, or throws the rejection as a {@link BoxdException} with its code. */
  default Ok orThrow() {
    return switch (this) {
      case Ok ok -> ok;
      case Rejected rejected -> throw new BoxdException(rejected.code(), rejected.message());
    };
  }
}
