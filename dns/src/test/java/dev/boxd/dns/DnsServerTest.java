package dev.boxd.dns;

import static dev.boxd.dns.ZoneFixture.T0;
import static dev.boxd.dns.ZoneFixture.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.BoxdException;
import dev.boxd.core.state.ClusterState;
import java.io.DataInputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.ZoneOffset;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The listener over real loopback sockets: UDP, TCP with several queries on one connection, ports. */
class DnsServerTest {
  private final ClusterState state = ZoneFixture.apply(ZoneFixture.accounts(), vm("vm1", "u1", "app", "127.77.0.2", T0));
  private final ZoneIndex zone = ZoneIndex.of(ZoneFixture.LOCALHOST, state);
  private DnsServer server;

  @BeforeEach
  void start() {
    server = DnsServer.start(new InetSocketAddress("127.0.0.1", 0), 2, () -> zone, Clock.fixed(T0, ZoneOffset.UTC));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  @Test
  void answersOverUdp() throws IOException {
    try (DatagramSocket socket = new DatagramSocket()) {
      socket.setSoTimeout(5000);
      byte[] query = query("app.localhost.", 0x0101).toWire();
      socket.send(new DatagramPacket(query, query.length, server.address()));
      DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
      socket.receive(reply);
      Message r = new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength()));
      assertThat(r.getHeader().getID()).isEqualTo(0x0101);
      assertThat(((ARecord) r.getSection(Section.ANSWER).getFirst()).getAddress().getHostAddress()).isEqualTo("127.77.0.2");
    }
  }

  @Test
  void withoutAReplicaToAnswerFromQueriesGetServfail() throws IOException {
    try (DnsServer broken = DnsServer.start(new InetSocketAddress("127.0.0.1", 0), 1, () -> {
      throw new BoxdException(dev.boxd.core.ErrorCode.UNAVAILABLE, "the state store is closed");
    }, Clock.systemUTC()); DatagramSocket socket = new DatagramSocket()) {
      socket.setSoTimeout(5000);
      byte[] query = query("app.localhost.", 7).toWire();
      socket.send(new DatagramPacket(query, query.length, broken.address()));
      DatagramPacket reply = new DatagramPacket(new byte[1500], 1500);
      socket.receive(reply);
      Message r = new Message(java.util.Arrays.copyOf(reply.getData(), reply.getLength()));
      assertThat(r.getHeader().getID()).isEqualTo(7);
      assertThat(r.getRcode()).isEqualTo(Rcode.SERVFAIL);
    }
  }

  @Test
  void answersSeveralQueriesOnOneTcpConnection() throws IOException {
    try (Socket socket = new Socket()) {
      socket.connect(server.address(), 5000);
      socket.setSoTimeout(5000);
      var out = socket.getOutputStream();
      var in = new DataInputStream(socket.getInputStream());
      // Both written before either answer is read: pipelined, as RFC 7766 allows.
      out.write(framed(query("app.localhost.", 1).toWire()));
      out.write(framed(query("nothing.localhost.", 2).toWire()));
      Message first = read(in);
      Message second = read(in);
      assertThat(first.getHeader().getID()).isEqualTo(1);
      assertThat(first.getRcode()).isEqualTo(Rcode.NOERROR);
      assertThat(second.getHeader().getID()).isEqualTo(2);
      assertThat(second.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }
  }

  @Test
  void aTakenPortIsRefusedNamingTheAddressAndTheWayOut() {
    assertThatThrownBy(() -> DnsServer.start(server.address(), 1, () -> zone, Clock.systemUTC()))
        .isInstanceOf(BoxdException.class)
        .hasMessageContaining("cannot listen for DNS on 127.0.0.1:" + server.address().getPort())
        .hasMessageContaining("--dns=ADDR:PORT");
  }

  private static Message query(String name, int id) {
    Message query = Message.newQuery(Record.newRecord(Name.fromConstantString(name), Type.A, DClass.IN));
    query.getHeader().setID(id);
    return query;
  }

  private static byte[] framed(byte[] message) {
    byte[] out = new byte[message.length + 2];
    out[0] = (byte) (message.length >>> 8);
    out[1] = (byte) message.length;
    System.arraycopy(message, 0, out, 2, message.length);
    return out;
  }

  private static Message read(DataInputStream in) throws IOException {
    byte[] message = new byte[in.readUnsignedShort()];
    in.readFully(message);
    return new Message(message);
  }
}
