package dev.boxd.vmm.qmp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command monitor's reading rules, against a peer that speaks QMP's line protocol as a
 * script: events are read past, replies are taken in order, and a reply whose caller gave up is
 * never handed to the next caller. (Every VM test drives it against real QEMU.)
 */
class CommandMonitorTest {
  @TempDir Path dir;
  private ServerSocketChannel server;
  private SocketChannel peer;
  private BufferedReader peerIn;
  private OutputStream peerOut;
  private final BlockingQueue<String> requests = new LinkedBlockingQueue<>();

  @BeforeEach
  void listen() throws IOException {
    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(dir.resolve("qmp.sock")));
  }

  @AfterEach
  void close() throws IOException {
    if (peer != null) {
      peer.close();
    }
    server.close();
  }

  /** Connects a monitor while the peer greets it and accepts qmp_capabilities. */
  private CommandMonitor connect() throws Exception {
    Thread accept = Thread.ofVirtual().start(() -> {
      try {
        peer = server.accept();
        peerIn = new BufferedReader(new InputStreamReader(Channels.newInputStream(peer), StandardCharsets.UTF_8));
        peerOut = Channels.newOutputStream(peer);
        send("{\"QMP\": {\"version\": {}, \"capabilities\": []}}");
        assertThat(peerIn.readLine()).isEqualTo("{\"execute\":\"qmp_capabilities\"}");
        send("{\"return\": {}}");
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    CommandMonitor monitor = CommandMonitor.connect(dir.resolve("qmp.sock"), Duration.ofSeconds(5));
    accept.join();
    Thread.ofVirtual().start(() -> {
      try {
        String line;
        while ((line = peerIn.readLine()) != null) {
          requests.add(line);
        }
      } catch (IOException e) {
        // the test closed the peer
      }
    });
    return monitor;
  }

  private void send(String line) throws IOException {
    peerOut.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    peerOut.flush();
  }

  private String nextRequest() throws InterruptedException {
    String request = requests.poll(5, TimeUnit.SECONDS);
    assertThat(request).as("a request reached the peer").isNotNull();
    return request;
  }

  @Test
  void eventsBeforeTheReplyAreReadPast() throws Exception {
    CommandMonitor monitor = connect();
    Thread.ofVirtual().start(() -> {
      try {
        assertThat(nextRequest()).isEqualTo("{\"execute\":\"stop\"}");
        send("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}");
        send("{\"return\": {\"status\": \"paused\"}}");
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    JsonNode reply = monitor.call("stop", Map.of(), Duration.ofSeconds(5));
    assertThat(reply.path("return").path("status").asText()).isEqualTo("paused");
  }

  @Test
  void aSpinningCallerGetsAReplyThatComesWhileItPollsAndOneThatComesAfter() throws Exception {
    CommandMonitor monitor = connect();
    Thread.ofVirtual().start(() -> {
      try {
        assertThat(nextRequest()).isEqualTo("{\"execute\":\"cont\"}");
        send("{\"return\": {}}");
        assertThat(nextRequest()).isEqualTo("{\"execute\":\"stop\"}");
        Thread.sleep(50); // past the caller's spin: it must fall back to waiting in the selector
        send("{\"return\": {\"late\": true}}");
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    assertThat(monitor.call("cont", Map.of(), Duration.ofSeconds(5), Duration.ofSeconds(5)).has("return")).isTrue();
    assertThat(monitor.call("stop", Map.of(), Duration.ofSeconds(5), Duration.ofMillis(1)).path("return").path("late").asBoolean()).isTrue();
  }

  @Test
  void aReplyWhoseCallerGaveUpIsNotTheNextCallersReply() throws Exception {
    CommandMonitor monitor = connect();
    assertThatThrownBy(() -> monitor.call("query-status", Map.of(), Duration.ofMillis(200)))
        .isInstanceOf(QmpException.class)
        .hasMessageContaining("query-status")
        .hasMessageContaining("no reply within PT0.2S");
    assertThat(nextRequest()).isEqualTo("{\"execute\":\"query-status\"}");
    send("{\"return\": {\"status\": \"late\"}}"); // the first command's reply, after its caller left
    Thread.ofVirtual().start(() -> {
      try {
        assertThat(nextRequest()).isEqualTo("{\"execute\":\"query-name\",\"arguments\":{\"x\":1}}");
        send("{\"return\": {\"name\": \"vm1\"}}");
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    JsonNode reply = monitor.call("query-name", Map.of("x", 1), Duration.ofSeconds(5));
    assertThat(reply.path("return").path("name").asText()).isEqualTo("vm1");
  }

  @Test
  void anErrorReplyIsReturnedWhole() throws Exception {
    CommandMonitor monitor = connect();
    Thread.ofVirtual().start(() -> {
      try {
        nextRequest();
        send("{\"error\": {\"class\": \"GenericError\", \"desc\": \"no such thing\"}}");
      } catch (Exception e) {
        throw new RuntimeException(e);
      }
    });
    JsonNode reply = monitor.call("device_del", Map.of("id", "x"), Duration.ofSeconds(5));
    assertThat(reply.path("error").path("desc").asText()).isEqualTo("no such thing");
  }

  @Test
  void aMonitorThatNeverGreetsIsAnIoErrorAfterTheTimeout() throws Exception {
    Thread accept = Thread.ofVirtual().start(() -> {
      try {
        peer = server.accept(); // and says nothing, as a monitor another client holds
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertThatThrownBy(() -> CommandMonitor.connect(dir.resolve("qmp.sock"), Duration.ofMillis(200)))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("did not answer");
    accept.join();
  }

  @Test
  void aClosedConnectionIsReportedAsDisconnected() throws Exception {
    CommandMonitor monitor = connect();
    peer.close();
    assertThatThrownBy(() -> monitor.call("cont", Map.of(), Duration.ofSeconds(5)))
        .isInstanceOf(QmpException.class)
        .satisfies(e -> assertThat(((QmpException) e).errorClass()).isEqualTo("Disconnected"));
  }
}
