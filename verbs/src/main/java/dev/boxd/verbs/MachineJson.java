package dev.boxd.verbs;

import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import dev.boxd.verbs.Operations.ProxyView;
import dev.boxd.verbs.Operations.VmView;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The JSON of {@code machine new|list|get} (SPEC §12), the shapes existing clients parse: other
 * keys than the verbs' own, and in {@code new} and {@code get} strings only, since typed clients
 * fail on a number or a bool.
 *
 * <p>What each key holds, from what a {@link VmView} offers:
 * <ul>
 *   <li>{@code source}: the image the VM was made from, as the view names it ({@code debian-12}
 *       for the default image); {@code "default"} where the view names none.
 *   <li>{@code boot}: the boot time, {@code "161ms"}.
 *   <li>{@code sharing}: {@code "private"}: a VM is its owner's alone, there is no sharing.
 *   <li>{@code ssh}: the command that logs in over the VM's own SSH port, or null without one.
 *   <li>{@code domains}: the domains the VM's HTTPS routes answer for, joined by ",", its own
 *       {@code NAME.<zone>} first; where routes are not offered, the host of its URL.
 *   <li>{@code networks}: the VM's private address, the one network it is on, or null.
 *   <li>{@code auto_suspend}: {@code "30s"}, or {@code "off"}; {@code auto_hibernate}: null, as
 *       boxd hibernates only when told to.
 *   <li>{@code isolated}: {@code "true"} or {@code "false"}.
 * </ul>
 */
final class MachineJson {
  static final String SHARING = "private";
  static final String DEFAULT_SOURCE = "default";
  /** The route of a VM's own domain, NAME.<zone>. */
  private static final String DEFAULT_ROUTE = "default";

  private MachineJson() {}

  /** {@code machine new}: {"name","id","url","source","boot"}. */
  static Map<String, Object> created(VmView vm) {
    return Json.object("name", text(vm.name()), "id", text(vm.id()), "url", text(vm.url()), "source", source(vm),
        "boot", vm.bootTimeMs() + "ms");
  }

  /** One item of {@code machine list}: {"name","status","url","source","sharing"}. */
  static Map<String, Object> listed(VmView vm) {
    return Json.object("name", vm.name(), "status", vm.status(), "url", vm.url(), "source", source(vm), "sharing", SHARING);
  }

  /** {@code machine get}: every value a string or null. */
  static Map<String, Object> detail(VmView vm, Optional<String> domains) {
    var m = new LinkedHashMap<String, Object>();
    m.put("name", vm.name());
    m.put("id", vm.id());
    m.put("status", vm.status());
    m.put("url", vm.url());
    m.put("ssh", orNull(vm.ssh()));
    m.put("public_ip", orNull(vm.publicIp()));
    m.put("domains", domains.orElse(null));
    m.put("source", source(vm));
    m.put("auto_suspend", vm.autoSuspendSecs() == 0 ? "off" : vm.autoSuspendSecs() + "s");
    m.put("auto_hibernate", null);
    m.put("sharing", SHARING);
    m.put("networks", orNull(vm.ip()));
    m.put("isolated", Boolean.toString(vm.isolated()));
    return m;
  }

  /**
   * The VM's domains for {@code get}: its routes' domains, or the host of its URL where routes
   * are not offered (a surface without them says FAILED_PRECONDITION).
   */
  static Optional<String> domains(Operations ops, VmView vm) {
    try {
      String joined = ops.proxies(Optional.of(vm.name())).stream()
          .sorted(Comparator.comparing(route -> !route.name().equals(DEFAULT_ROUTE)))
          .map(ProxyView::domain).distinct().collect(Collectors.joining(","));
      if (!joined.isEmpty()) {
        return Optional.of(joined);
      }
    } catch (BoxdException e) {
      if (e.code() != ErrorCode.FAILED_PRECONDITION) {
        throw e;
      }
    }
    return Optional.ofNullable(orNull(vm.url())).map(url -> url.replaceFirst("^https?://", "").replaceFirst("[/:].*$", ""));
  }

  private static String source(VmView vm) {
    return vm.image() == null || vm.image().isBlank() ? DEFAULT_SOURCE : vm.image();
  }

  private static String orNull(String value) {
    return value == null || value.isBlank() ? null : value;
  }

  private static String text(String value) {
    return value == null ? "" : value;
  }
}
