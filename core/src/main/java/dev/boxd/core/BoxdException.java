package dev.boxd.core;

/**
 * A failure a user can be told about: a code from the one table and a message that names what was
 * wrong and what was expected. Messages are safe to show to the caller.
 */
public class BoxdException extends RuntimeException {
  private final ErrorCode code;

  public BoxdException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public BoxdException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }

  public static BoxdException invalid(String message) {
    return new BoxdException(ErrorCode.INVALID_ARGUMENT, message);
  }

  public static BoxdException notFound(String message) {
    return new BoxdException(ErrorCode.NOT_FOUND, message);
  }

  public static BoxdException precondition(String message) {
    return new BoxdException(ErrorCode.FAILED_PRECONDITION, message);
  }

  public static BoxdException internal(String message, Throwable cause) {
    return new BoxdException(ErrorCode.INTERNAL, message, cause);
  }
}
