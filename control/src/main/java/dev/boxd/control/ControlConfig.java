package dev.boxd.control;

import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.core.MachineShape;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * @param zone DNS zone VMs are named under ({@code NAME.<zone>})
 * @param privateSubnet cluster-wide pool of VM addresses (one worker's bridge subnet in single-node mode)
 * @param publicPool addresses VMs are reached at through the front door; shared across owners
 * @param defaultShape size of a VM when the request names none; requests may ask for less, never more
 * @param createTimeout how long {@code new} waits for the VM to be running and exec-ready
 * @param vmSshPort the port of the SSH gateway on each public address (direct SSH into a VM)
 * @param vmSshHostKey the SSH gateway's host key (authorized_keys form); empty where there is no gateway
 * @param edgeAddress the address of the edge: each VM's own SSH port and its exposed ports are there
 */
public record ControlConfig(String zone, Ipv4Subnet privateSubnet, Ipv4Subnet publicPool, MachineShape defaultShape,
    long diskGb, Duration createTimeout, int vmSshPort, Optional<String> vmSshHostKey, String edgeAddress) {

  public ControlConfig {
    Objects.requireNonNull(vmSshHostKey, "vmSshHostKey");
    Objects.requireNonNull(edgeAddress, "edgeAddress");
  }

  public static ControlConfig singleNode(Ipv4Subnet privateSubnet, MachineShape defaultShape) {
    return new ControlConfig("localhost", privateSubnet, Ipv4Subnet.parse("127.77.0.0/16"), defaultShape, 100, Duration.ofMinutes(5),
        22, Optional.empty(), "127.0.0.1");
  }

  /** With an SSH gateway on {@code port} of every public address, presenting {@code hostKey}. */
  public ControlConfig withVmSsh(int port, String hostKey) {
    return new ControlConfig(zone, privateSubnet, publicPool, defaultShape, diskGb, createTimeout, port, Optional.of(hostKey),
        edgeAddress);
  }

  /** With VMs named under {@code newZone} ({@code NAME.<zone>}). */
  public ControlConfig withZone(String newZone) {
    return new ControlConfig(newZone, privateSubnet, publicPool, defaultShape, diskGb, createTimeout, vmSshPort, vmSshHostKey, edgeAddress);
  }

  /** With the edge (per-VM SSH ports, exposed ports) on {@code address}. */
  public ControlConfig withEdgeAddress(String address) {
    return new ControlConfig(zone, privateSubnet, publicPool, defaultShape, diskGb, createTimeout, vmSshPort, vmSshHostKey, address);
  }
}
