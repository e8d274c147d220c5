package dev.boxd.worker.runtime;

import dev.boxd.core.Names;
import dev.boxd.core.net.Ipv4;
import dev.boxd.core.MachineShape;
import java.util.regex.Pattern;

/**
 * What the control plane decided about a VM: id, DNS-label name, owner, size and address (ids
 * and addresses are allocated by the caller, in the replicated log, never here), and the name of
 * its image (empty: the default image).
 */
public record VmSpec(String id, String name, String owner, MachineShape shape, Ipv4 ip, String image, boolean isolated) {
  private static final Pattern ID = Pattern.compile("^[a-z0-9][a-z0-9-]{0,39}$");

  /** A VM of the default image. */
  public VmSpec(String id, String name, String owner, MachineShape shape, Ipv4 ip) {
    this(id, name, owner, shape, ip, "");
  }

  /** A VM that is not isolated: its network lets it reach its owner's other VMs. */
  public VmSpec(String id, String name, String owner, MachineShape shape, Ipv4 ip, String image) {
    this(id, name, owner, shape, ip, image, false);
  }

  public VmSpec {
    if (image == null || (!image.isEmpty() && !dev.boxd.core.ImageNames.isValid(image))) {
      throw dev.boxd.core.BoxdException.invalid("invalid image name " + Names.quote(image));
    }
    if (id == null || !ID.matcher(id).matches()) {
      throw dev.boxd.core.BoxdException.invalid("invalid VM id " + Names.quote(id) + ": expected 1-40 characters of a-z, 0-9 and '-'");
    }
    Names.requireValid("VM name", name);
    if (owner == null || owner.isBlank()) {
      throw dev.boxd.core.BoxdException.invalid("a VM needs an owner");
    }
  }
}
