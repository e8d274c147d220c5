package dev.boxd.vmm.qmp;

/** QEMU refused or could not answer a QMP command. */
public final class QmpException extends RuntimeException {
  private final String errorClass;

  public QmpException(String command, String errorClass, String description) {
    super("QMP " + command + ": " + errorClass + ": " + description);
    this.errorClass = errorClass;
  }

  public String errorClass() {
    return errorClass;
  }
}
