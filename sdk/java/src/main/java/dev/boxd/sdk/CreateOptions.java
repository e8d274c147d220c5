package dev.boxd.sdk;

import dev.boxd.api.v1.CreateVmRequest;
import java.time.Duration;

/**
 * What {@link Machines#create(CreateOptions)} makes. Everything is optional: unset fields take the
 * server's defaults (a generated name, the default image and size, auto-suspend after 30 s).
 * A VM from a snapshot takes the snapshot's size and image, so those stay unset with {@code fromSnapshot}.
 */
public final class CreateOptions {
  private final String name;
  private final boolean isolated;
  private final String fromSnapshot;
  private final String image;
  private final Integer vcpu;
  private final Integer memoryMib;
  private final Duration autoSuspendTimeout;

  private CreateOptions(Builder b) {
    this.name = b.name;
    this.isolated = b.isolated;
    this.fromSnapshot = b.fromSnapshot;
    this.image = b.image;
    this.vcpu = b.vcpu;
    this.memoryMib = b.memoryMib;
    this.autoSuspendTimeout = b.autoSuspendTimeout;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The server's defaults for everything but the name. */
  public static CreateOptions named(String name) {
    return builder().name(name).build();
  }

  public String name() {
    return name;
  }

  public boolean isolated() {
    return isolated;
  }

  public String fromSnapshot() {
    return fromSnapshot;
  }

  public String image() {
    return image;
  }

  public Integer vcpu() {
    return vcpu;
  }

  public Integer memoryMib() {
    return memoryMib;
  }

  public Duration autoSuspendTimeout() {
    return autoSuspendTimeout;
  }

  CreateVmRequest toRequest() {
    var request = CreateVmRequest.newBuilder().setIsolated(isolated);
    if (name != null) {
      request.setName(name);
    }
    if (fromSnapshot != null) {
      request.setFromSnapshot(fromSnapshot);
    }
    if (image != null) {
      request.setImage(image);
    }
    if (vcpu != null) {
      request.setVcpus(vcpu);
    }
    if (memoryMib != null) {
      request.setMemoryMib(memoryMib);
    }
    if (autoSuspendTimeout != null) {
      request.setAutoSuspendTimeoutSecs(seconds("autoSuspendTimeout", autoSuspendTimeout));
    }
    return request.build();
  }

  static int seconds(String what, Duration d) {
    if (d.isNegative() || d.toSeconds() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(what + " must be 0 (off) or a positive number of seconds, not " + d);
    }
    return (int) d.toSeconds();
  }

  public static final class Builder {
    private String name;
    private boolean isolated;
    private String fromSnapshot;
    private String image;
    private Integer vcpu;
    private Integer memoryMib;
    private Duration autoSuspendTimeout;

    private Builder() {}

    /** A DNS label, unique among your VMs; unset: the server makes one up. */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** No traffic to your other VMs and no in-VM API; fixed at creation, inherited by forks. */
    public Builder isolated(boolean isolated) {
      this.isolated = isolated;
      return this;
    }

    public Builder fromSnapshot(String snapshot) {
      this.fromSnapshot = snapshot;
      return this;
    }

    public Builder image(String image) {
      this.image = image;
      return this;
    }

    public Builder vcpu(int vcpu) {
      if (vcpu < 1) {
        throw new IllegalArgumentException("vcpu must be at least 1, not " + vcpu);
      }
      this.vcpu = vcpu;
      return this;
    }

    public Builder memoryMib(int memoryMib) {
      if (memoryMib < 1) {
        throw new IllegalArgumentException("memoryMib must be positive, not " + memoryMib);
      }
      this.memoryMib = memoryMib;
      return this;
    }

    /** Idle time before the VM goes to standby; {@link Duration#ZERO} turns auto-suspend off. */
    public Builder autoSuspendTimeout(Duration timeout) {
      seconds("autoSuspendTimeout", timeout);
      this.autoSuspendTimeout = timeout;
      return this;
    }

    public CreateOptions build() {
      return new CreateOptions(this);
    }
  }
}
