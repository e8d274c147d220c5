package dev.boxd.sdk;

import dev.boxd.api.v1.CreateProxyRequest;
import dev.boxd.api.v1.DeleteProxyRequest;
import dev.boxd.api.v1.ListProxiesRequest;
import dev.boxd.api.v1.SetProxyPortRequest;
import java.util.List;

/**
 * HTTPS routes into your VMs: {@code default} ({@code https://NAME.<zone>}, to port 8000 unless
 * set) and named ones ({@code https://SUB.NAME.<zone>}).
 */
public final class Proxies {
  /** The port for {@link #setPort}: the one the guest listens on ({@code --port=auto}). */
  public static final int AUTO = 0;

  private final Rpc rpc;

  Proxies(Rpc rpc) {
    this.rpc = rpc;
  }

  /** The routes of one VM; {@code id} null: of all your VMs. */
  public List<ProxyRoute> list(String id) {
    var request = ListProxiesRequest.newBuilder();
    if (id != null) {
      request.setVmName(id);
    }
    return rpc.unary(api -> api.listProxies(request.build())).getProxiesList().stream().map(ProxyRoute::of).toList();
  }

  /** A new route {@code https://NAME.VM.<zone>} to {@code port}. */
  public ProxyRoute create(String id, String name, int port) {
    return ProxyRoute.of(rpc.unary(api -> api.createProxy(CreateProxyRequest.newBuilder().setVmName(id).setName(name).setPort(port).build())));
  }

  /** Points the default route at {@code port} ({@link #AUTO}: the port the guest listens on). */
  public ProxyRoute setPort(String id, int port) {
    return setPort(id, "", port);
  }

  /** Points the route {@code name} ("" or {@code default}: the default one) at {@code port}. */
  public ProxyRoute setPort(String id, String name, int port) {
    var request = SetProxyPortRequest.newBuilder().setVmName(id).setName(name == null ? "" : name).setPort(port).build();
    return ProxyRoute.of(rpc.unary(api -> api.setProxyPort(request)).getProxy());
  }

  public void delete(String id, String name) {
    rpc.unary(api -> api.deleteProxy(DeleteProxyRequest.newBuilder().setVmName(id).setName(name).build()));
  }
}
