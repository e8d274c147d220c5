package dev.boxd.verbs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.boxd.core.ErrorCode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The JSON shapes of the verbs (SPEC §3): snake_case keys, one document per invocation. */
final class Json {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private Json() {}

  static String write(Object document) {
    try {
      return MAPPER.writeValueAsString(document);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot render JSON: " + e.getOriginalMessage(), e);
    }
  }

  static Map<String, Object> vm(Operations.VmView vm) {
    var m = new LinkedHashMap<String, Object>();
    m.put("vm_id", vm.id());
    m.put("name", vm.name());
    m.put("status", vm.status());
    m.put("ip", vm.ip());
    m.put("public_ip", vm.publicIp());
    m.put("image", vm.image());
    m.put("url", vm.url());
    m.put("boot_time_ms", vm.bootTimeMs());
    m.put("vcpu", vm.vcpus());
    m.put("memory_mib", vm.memoryMib());
    m.put("disk_gb", vm.diskGb());
    m.put("created_at", vm.createdAt());
    m.put("auto_suspend_timeout", vm.autoSuspendSecs());
    m.put("isolated", vm.isolated());
    if (!vm.detail().isEmpty()) {
      m.put("detail", vm.detail());
    }
    m.put("ssh", vm.ssh().isEmpty() ? null : vm.ssh());
    vm.egress().ifPresent(traffic -> {
      m.put("egress_bytes", traffic.bytesOut());
      m.put("ingress_bytes", traffic.bytesIn());
    });
    return m;
  }

  static List<Map<String, Object>> vms(List<Operations.VmView> vms) {
    return vms.stream().map(Json::vm).toList();
  }

  static Map<String, Object> proxy(Operations.ProxyView proxy) {
    return object("name", proxy.name(), "vm", proxy.vm(), "domain", proxy.domain(), "port", proxy.port());
  }

  /** The fields of SPEC §8's ExposePortResponse, plus the host to connect to. */
  static Map<String, Object> exposure(Operations.ExposeView e) {
    return object("vm_id", e.vmId(), "vm_name", e.vm(), "dns", e.dns(), "host", e.host(), "public_port", e.publicPort(), "vm_port",
        e.vmPort(), "protocol", e.protocol());
  }

  static Map<String, Object> error(ErrorCode code, String message) {
    var inner = new LinkedHashMap<String, Object>();
    inner.put("code", code.name());
    inner.put("message", message);
    return Map.of("error", inner);
  }

  /** An ordered object from alternating keys and values. */
  static Map<String, Object> object(Object... keysAndValues) {
    var m = new LinkedHashMap<String, Object>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }
}
