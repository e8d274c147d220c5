package dev.boxd.edge.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

class MessagesTest {
  @Test
  void theVmGetsNoHopByHopHeadersAndTheForwardedOnes() {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "https://app.localhost/a?b=1");
    request.headers().set("connection", "keep-alive, x-secret").set("x-secret", "1").set("keep-alive", "5").set("te", "trailers")
        .set("x-forwarded-for", "10.0.0.9").set("accept", "*/*");
    HttpRequest out = Messages.toUpstream(request, "app.localhost", "127.0.0.1", false, false);
    assertThat(out.uri()).isEqualTo("/a?b=1");
    assertThat(out.headers().names()).doesNotContain("connection", "x-secret", "keep-alive", "te");
    assertThat(out.headers().get("x-forwarded-for")).isEqualTo("10.0.0.9, 127.0.0.1");
    assertThat(out.headers().get("x-forwarded-proto")).isEqualTo("https");
    assertThat(out.headers().get("host")).isEqualTo("app.localhost");
    assertThat(out.headers().get("accept")).isEqualTo("*/*");
  }

  @Test
  void aWebSocketHandshakeKeepsItsUpgrade() {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ws");
    request.headers().set("connection", "Upgrade").set("upgrade", "websocket");
    HttpRequest out = Messages.toUpstream(request, "app.localhost", "127.0.0.1", false, false);
    assertThat(Messages.isUpgrade(out)).isTrue();
    assertThat(out.headers().get("upgrade")).isEqualTo("websocket");
  }

  @Test
  void anHttp2BodyWithoutALengthIsChunkedForTheVm() {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/upload");
    assertThat(Messages.toUpstream(request, "app.localhost", "::1", true, true).headers().get("transfer-encoding")).isEqualTo("chunked");
  }

  @Test
  void responsesGetHstsAndTheFramingTheClientNeeds() {
    HttpRequest request = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
    HttpResponse untilClose = new DefaultHttpResponse(HttpVersion.HTTP_1_0, HttpResponseStatus.OK);
    untilClose.headers().set("connection", "close");
    HttpResponse out = Messages.toClient(untilClose, request, false, true);
    assertThat(out.headers().get("transfer-encoding")).isEqualTo("chunked");
    assertThat(out.headers().get("strict-transport-security")).startsWith("max-age=");
    assertThat(out.headers().contains("connection")).isFalse(); // kept alive: HTTP/1.1's default

    HttpRequest http10 = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
    assertThat(io.netty.handler.codec.http.HttpUtil.isKeepAlive(Messages.toClient(untilClose, http10, false, true)))
        .as("an HTTP/1.0 client learns the end of the body from the close").isFalse();
  }

  @Test
  void lineBreaksInHeaderValuesAreNotWrittenIntoHttp1() {
    assertThat(Messages.safeForHttp1(new DefaultHttpHeaders(false).add("x-a", "fine"))).isTrue();
    assertThat(Messages.safeForHttp1(new DefaultHttpHeaders(false).add("x-a", "evil\r\nGET /admin HTTP/1.1"))).isFalse();
  }

  @Test
  void originFormTargets() {
    assertThat(Messages.originForm("http://x.localhost")).isEqualTo("/");
    assertThat(Messages.originForm("/p")).isEqualTo("/p");
    assertThat(Messages.originForm("")).isEqualTo("/");
  }
}
