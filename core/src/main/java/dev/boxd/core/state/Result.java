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

  /** The command was refused; {@code message} names the offending value and is safe to show. */
  record Rejected(ErrorCode code, String message) implements Result {
    public Rejected {
      Objects.requireNonNull(code, "code");
      Objects.requireNonNull(message, "message");
    }
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
