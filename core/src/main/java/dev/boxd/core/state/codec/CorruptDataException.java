package dev.boxd.core.state.codec;

/**
 * Bytes that do not decode: a corrupt log entry or snapshot, or one written by a newer boxd. A
 * replica that meets one must stop rather than guess, so this is unchecked and never caught in
 * the apply path.
 */
public final class CorruptDataException extends RuntimeException {
  public CorruptDataException(String message) {
    super(message);
  }
}
