package dev.boxd.control;

import dev.boxd.core.net.Ipv4Subnet;
import dev.boxd.vmm.MachineShape;
import java.time.Duration;

/**
 * @param zone DNS zone VMs are named under ({@code NAME.<zone>})
 * @param privateSubnet cluster-wide pool of VM addresses (one worker's bridge subnet in single-node mode)
 * @param publicPool addresses VMs are reached at through the front door; shared across owners
 * @param defaultShape size of a VM when the request names none; requests may ask for less, never more
 * @param createTimeout how long {@code new} waits for the VM to be running and exec-ready
 */
public record ControlConfig(String zone, Ipv4Subnet privateSubnet, Ipv4Subnet publicPool, MachineShape defaultShape,
    long diskGb, Duration createTimeout) {

  public static ControlConfig singleNode(Ipv4Subnet privateSubnet, MachineShape defaultShape) {
    return new ControlConfig("localhost", privateSubnet, Ipv4Subnet.parse("127.77.0.0/16"), defaultShape, 100, Duration.ofMinutes(5));
  }
}
