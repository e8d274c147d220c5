package dev.boxd.worker.runtime;

import dev.boxd.core.net.Ipv4Subnet;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The identity a VM is given after every restore or boot: its own MAC and IP (the restored NIC
 * still carries the golden's), hostname, machine-id, SSH host key, fresh kernel entropy (a
 * restored guest's RNG state is its golden's) and the current time (a restored clock lags).
 */
final class GuestIdentity {
  private static final SecureRandom RANDOM = new SecureRandom();

  private GuestIdentity() {}

  static Map<String, String> of(VmDirectory.Record record, VmDirectory files, Ipv4Subnet subnet, java.util.Optional<String> platformKey) {
    var ip = dev.boxd.core.net.Ipv4.parse(record.ip());
    Map<String, String> id = new LinkedHashMap<>();
    id.put("hostname", record.name());
    id.put("machine_id", record.machineId());
    id.put("iface", "eth0");
    id.put("mac", ip.derivedMac());
    id.put("ip", subnet.cidrOf(ip));
    id.put("gateway", subnet.gateway().toString());
    id.put("dns", subnet.gateway().toString());
    id.put("vm_id", record.id());
    id.put("vm_name", record.name());
    try {
      id.put("host_key_ed25519", Files.readString(files.hostKey()));
      id.put("host_key_ed25519_pub", Files.readString(files.hostKeyPub()));
    } catch (IOException e) {
      throw new UncheckedIOException("missing SSH host key of VM " + record.id(), e);
    }
    platformKey.ifPresent(key -> id.put("authorized_keys", key.strip()));
    byte[] entropy = new byte[64];
    RANDOM.nextBytes(entropy);
    id.put("entropy", HexFormat.of().formatHex(entropy));
    Instant now = Instant.now();
    id.put("time_ns", Long.toString(now.getEpochSecond() * 1_000_000_000L + now.getNano()));
    return id;
  }
}
