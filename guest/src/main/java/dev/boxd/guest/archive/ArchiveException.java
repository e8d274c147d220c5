package dev.boxd.guest.archive;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;

/** An image archive that cannot be imported: unreadable, truncated, or unsafe to unpack. */
public final class ArchiveException extends BoxdException {
  public ArchiveException(String message) {
    super(ErrorCode.INVALID_ARGUMENT, message);
  }
}
