package dev.boxd.dns;

import static dev.boxd.dns.ZoneFixture.T0;
import static dev.boxd.dns.ZoneFixture.apply;
import static dev.boxd.dns.ZoneFixture.challenge;
import static dev.boxd.dns.ZoneFixture.vm;
import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Command;
import java.io.IOException;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** Every kind of answer, from a state made by real commands to the response's bytes, without sockets. */
class AnswersTest {
  private static final Instant NOW = T0.plusSeconds(30);
  private static final String LONG = "x".repeat(100);

  private final ClusterState state = apply(ZoneFixture.accounts(),
      vm("vm1", "u1", "app", "127.77.0.2", T0),
      vm("vm2", "u1", "db", "127.77.0.3", T0),
      vm("vm4", "u2", "gone", "127.77.0.4", T0),
      new Command.DestroyVm("vm4"),
      vm("vm5", "u2", "ns1", "127.77.0.5", T0),
      challenge("_acme-challenge.app.localhost", List.of("token-one", "token-two"), 600),
      challenge("_acme-challenge.localhost", List.of("apex-token"), 600),
      challenge("_acme-challenge.foo.localhost", List.of("foo-token"), 600),
      challenge("_acme-challenge.db.localhost", List.of("stale"), 10),
      challenge("_acme-challenge.big.localhost", Collections.nCopies(8, LONG), 600));
  private final ZoneIndex zone = ZoneIndex.of(ZoneFixture.LOCALHOST, state);

  @Test
  void aVmNameAnswersItsPublicAddressWithTtl60Authoritatively() {
    Message r = udp(query("app.localhost.", Type.A));

    assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(r.getHeader().getFlag(Flags.AA)).isTrue();
    assertThat(r.getHeader().getFlag(Flags.RA)).as("no recursion offered").isFalse();
    assertThat(r.getHeader().getFlag(Flags.QR)).isTrue();
    assertThat(a(r)).containsExactly("127.77.0.2");
    assertThat(r.getSection(Section.ANSWER).getFirst().getTTL()).isEqualTo(60);
    assertThat(r.getSection(Section.AUTHORITY)).isEmpty();
  }

  @Test
  void anyNameUnderAVmAnswersTheVmsAddressInTheCaseItWasAsked() {
    assertThat(a(udp(query("www.db.localhost.", Type.A)))).containsExactly("127.77.0.3");
    assertThat(a(udp(query("a.b.c.db.localhost.", Type.A)))).containsExactly("127.77.0.3");

    Message mixed = udp(query("Api.DB.LocalHost.", Type.A));
    assertThat(a(mixed)).containsExactly("127.77.0.3");
    assertThat(mixed.getQuestion().getName().toString()).isEqualTo("Api.DB.LocalHost.");
    assertThat(mixed.getSection(Section.ANSWER).getFirst().getName().toString()).isEqualTo("Api.DB.LocalHost.");
  }

  @Test
  void aNameAnotherAccountTakesOnceItIsFreeAnswersItsNewVm() {
    assertThat(a(udp(query("app.localhost.", Type.A)))).containsExactly("127.77.0.2");
    ClusterState taken = apply(state, new Command.DestroyVm("vm1"), vm("vm3", "u2", "app", "127.77.0.9", T0.plusSeconds(1)));
    assertThat(a(udp(query("app.localhost.", Type.A), ZoneIndex.of(ZoneFixture.LOCALHOST, taken)))).containsExactly("127.77.0.9");
  }

  @Test
  void unknownAndDestroyedNamesAreNxdomainWithTheSoaForNegativeCaching() {
    for (String name : List.of("missing.localhost.", "gone.localhost.", "www.gone.localhost.", "x.ns1.localhost.")) {
      Message r = udp(query(name, Type.A));
      assertThat(r.getRcode()).as(name).isEqualTo(Rcode.NXDOMAIN);
      assertThat(r.getHeader().getFlag(Flags.AA)).isTrue();
      assertThat(r.getSection(Section.ANSWER)).isEmpty();
      assertNegativeSoa(r);
    }
  }

  @Test
  void aKnownNameWithoutTheTypeAskedIsNodata() {
    for (int type : List.of(Type.AAAA, Type.MX, Type.TXT, Type.CNAME)) {
      Message r = udp(query("app.localhost.", type));
      assertThat(r.getRcode()).as(Type.string(type)).isEqualTo(Rcode.NOERROR);
      assertThat(r.getSection(Section.ANSWER)).isEmpty();
      assertNegativeSoa(r);
    }
    Message emptyNonTerminal = udp(query("foo.localhost.", Type.A));
    assertThat(emptyNonTerminal.getRcode()).as("foo has a challenge under it, so it exists").isEqualTo(Rcode.NOERROR);
    assertNegativeSoa(emptyNonTerminal);
  }

  @Test
  void theApexHasAnSoaWhoseSerialMovesWithTheLogAndAnNsWithItsAddress() {
    Message r = udp(query("localhost.", Type.SOA));
    SOARecord soa = (SOARecord) r.getSection(Section.ANSWER).getFirst();
    assertThat(soa.getSerial()).isEqualTo(state.appliedIndex());
    assertThat(soa.getHost().toString()).isEqualTo("ns1.localhost.");
    assertThat(soa.getAdmin().toString()).isEqualTo("hostmaster.localhost.");
    assertThat(soa.getMinimum()).isEqualTo(60);
    assertThat(List.of(soa.getRefresh(), soa.getRetry(), soa.getExpire())).containsExactly(3600L, 600L, 1_209_600L);

    ClusterState later = apply(state, vm("vm6", "u1", "web", "127.77.0.6", T0));
    SOARecord next = (SOARecord) udp(query("localhost.", Type.SOA), ZoneIndex.of(ZoneFixture.LOCALHOST, later))
        .getSection(Section.ANSWER).getFirst();
    assertThat(next.getSerial()).isGreaterThan(soa.getSerial());

    Message ns = udp(query("localhost.", Type.NS));
    assertThat(ns.getSection(Section.ANSWER)).singleElement()
        .satisfies(rec -> assertThat(((NSRecord) rec).getTarget().toString()).isEqualTo("ns1.localhost."));
    assertThat(ns.getSection(Section.ADDITIONAL)).singleElement()
        .satisfies(rec -> assertThat(((ARecord) rec).getAddress().getHostAddress()).isEqualTo("127.0.0.1"));

    Message apexA = udp(query("localhost.", Type.A));
    assertThat(apexA.getRcode()).isEqualTo(Rcode.NOERROR);
    assertNegativeSoa(apexA);
  }

  @Test
  void theNameServerNameIsTheServersEvenIfAVmIsNamedLikeIt() {
    Message r = udp(query("ns1.localhost.", Type.A));
    assertThat(a(r)).containsExactly("127.0.0.1");
    assertThat(udp(query("ns1.localhost.", Type.AAAA)).getSection(Section.ANSWER)).isEmpty();
  }

  @Test
  void otherZonesAndClassesAreRefusedWithoutAuthority() {
    for (Message q : List.of(query("example.com.", Type.A), query("localhost.example.com.", Type.A), query("com.", Type.NS),
        query(".", Type.NS), Message.newQuery(Record.newRecord(Name.fromConstantString("app.localhost."), Type.TXT, DClass.CH)))) {
      Message r = udp(q);
      assertThat(r.getRcode()).as("%s", q.getQuestion()).isEqualTo(Rcode.REFUSED);
      assertThat(r.getHeader().getFlag(Flags.AA)).isFalse();
      assertThat(r.getQuestion()).isEqualTo(q.getQuestion());
      assertThat(r.getSection(Section.ANSWER)).isEmpty();
    }
    assertThat(udp(query("localhost.", Type.AXFR)).getRcode()).as("no zone transfers").isEqualTo(Rcode.REFUSED);
  }

  @Test
  void acmeChallengesAnswerTheirTxtValuesUntilTheyExpire() {
    Message r = udp(query("_acme-challenge.app.localhost.", Type.TXT));
    assertThat(txt(r)).containsExactlyInAnyOrder("token-one", "token-two");
    assertThat(r.getSection(Section.ANSWER)).allSatisfy(rec -> assertThat(rec.getTTL()).isEqualTo(60));
    assertThat(txt(udp(query("_acme-challenge.localhost.", Type.TXT)))).containsExactly("apex-token");
    assertThat(txt(udp(query("_ACME-Challenge.APP.localhost.", Type.TXT)))).containsExactlyInAnyOrder("token-one", "token-two");

    Message otherType = udp(query("_acme-challenge.app.localhost.", Type.A));
    assertThat(otherType.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(otherType.getSection(Section.ANSWER)).as("the TXT name blocks the VM's wildcard").isEmpty();

    ClusterState cleared = apply(state, new Command.ClearAcmeChallenge("_acme-challenge.localhost"));
    assertThat(udp(query("_acme-challenge.localhost.", Type.TXT), ZoneIndex.of(ZoneFixture.LOCALHOST, cleared)).getRcode())
        .isEqualTo(Rcode.NXDOMAIN);

    Message expired = udp(query("_acme-challenge.db.localhost.", Type.TXT));
    assertThat(expired.getSection(Section.ANSWER)).as("expired 10 s after T0, asked 30 s after").isEmpty();
    assertThat(a(udp(query("_acme-challenge.db.localhost.", Type.A)))).as("then it is any name under db").containsExactly("127.77.0.3");
  }

  @Test
  void anyGetsTheNamesOwnRecords() {
    assertThat(a(udp(query("app.localhost.", Type.ANY)))).containsExactly("127.77.0.2");
    assertThat(udp(query("localhost.", Type.ANY)).getSection(Section.ANSWER)).extracting(Record::getType)
        .containsExactly(Type.SOA, Type.NS);
    assertThat(txt(udp(query("_acme-challenge.localhost.", Type.ANY)))).containsExactly("apex-token");
    assertThat(udp(query("missing.localhost.", Type.ANY)).getRcode()).isEqualTo(Rcode.NXDOMAIN);
  }

  @Test
  void recursionDesiredIsEchoedButNeverAvailable() {
    Message q = query("app.localhost.", Type.A);
    q.getHeader().setFlag(Flags.RD);
    Message r = udp(q);
    assertThat(r.getHeader().getFlag(Flags.RD)).isTrue();
    assertThat(r.getHeader().getFlag(Flags.RA)).isFalse();
    assertThat(r.getHeader().getID()).isEqualTo(q.getHeader().getID());
  }

  @Test
  void ednsIsEchoedWithOurPayloadSizeAndTheDoBit() {
    Message q = query("app.localhost.", Type.A);
    q.addRecord(new OPTRecord(4096, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
    OPTRecord opt = udp(q).getOPT();
    assertThat(opt).isNotNull();
    assertThat(opt.getPayloadSize()).isEqualTo(1232);
    assertThat(opt.getVersion()).isZero();
    assertThat(opt.getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
    assertThat(udp(query("app.localhost.", Type.A)).getOPT()).as("no OPT without one asked").isNull();

    Message v1 = query("app.localhost.", Type.A);
    v1.addRecord(new OPTRecord(4096, 0, 1, 0), Section.ADDITIONAL);
    Message badvers = udp(v1);
    assertThat(badvers.getRcode()).isEqualTo(Rcode.BADVERS);
    assertThat(badvers.getSection(Section.ANSWER)).isEmpty();
  }

  @Test
  void aUdpAnswerTooBigForThePayloadIsTruncatedAndTcpCarriesItWhole() {
    String big = "_acme-challenge.big.localhost.";
    Message plain = udp(query(big, Type.TXT));
    assertThat(plain.getHeader().getFlag(Flags.TC)).as("over 512 bytes without EDNS").isTrue();
    assertThat(plain.getSection(Section.ANSWER)).isEmpty();
    assertThat(plain.getQuestion()).isNotNull();

    assertThat(txt(tcp(query(big, Type.TXT)))).hasSize(8);
    assertThat(tcp(query(big, Type.TXT)).getHeader().getFlag(Flags.TC)).isFalse();

    Message edns = query(big, Type.TXT);
    edns.addRecord(new OPTRecord(1232, 0, 0), Section.ADDITIONAL);
    Message fits = udp(edns);
    assertThat(fits.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(txt(fits)).hasSize(8);
    assertThat(fits.getOPT()).as("the OPT survives").isNotNull();

    Message tiny = query(big, Type.TXT);
    tiny.addRecord(new OPTRecord(100, 0, 0), Section.ADDITIONAL);
    Message cut = udp(tiny);
    assertThat(cut.getHeader().getFlag(Flags.TC)).as("a payload under 512 counts as 512").isTrue();
    assertThat(cut.getOPT()).isNotNull();
  }

  @Test
  void malformedQueriesGetFormerrAndOtherOpcodesNotimp() throws IOException {
    byte[] garbage = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 'a', 'b'};
    Message formerr = new Message(Answers.respond(garbage, garbage.length, Answers.Transport.UDP, zone, NOW));
    assertThat(formerr.getHeader().getID()).isEqualTo(0x1234);
    assertThat(formerr.getRcode()).isEqualTo(Rcode.FORMERR);
    assertThat(formerr.getHeader().getFlag(Flags.QR)).isTrue();

    Message none = new Message(0x4242);
    assertThat(udp(none).getRcode()).as("no question").isEqualTo(Rcode.FORMERR);
    Message two = query("app.localhost.", Type.A);
    two.addRecord(Record.newRecord(Name.fromConstantString("db.localhost."), Type.A, DClass.IN), Section.QUESTION);
    assertThat(udp(two).getRcode()).as("two questions").isEqualTo(Rcode.FORMERR);

    for (int opcode : List.of(Opcode.NOTIFY, Opcode.UPDATE, Opcode.STATUS, Opcode.IQUERY)) {
      Message q = query("localhost.", Type.SOA);
      q.getHeader().setOpcode(opcode);
      Message r = udp(q);
      assertThat(r.getRcode()).as(Opcode.string(opcode)).isEqualTo(Rcode.NOTIMP);
      assertThat(r.getHeader().getOpcode()).isEqualTo(opcode);
    }
  }

  @Test
  void responsesAndRuntsAreNotAnswered() {
    Message response = query("app.localhost.", Type.A);
    response.getHeader().setFlag(Flags.QR);
    byte[] wire = response.toWire();
    assertThat(Answers.respond(wire, wire.length, Answers.Transport.UDP, zone, NOW)).as("never answer an answer").isNull();
    assertThat(Answers.respond(new byte[11], 11, Answers.Transport.UDP, zone, NOW)).isNull();
  }

  @Test
  void anIndexSkipsDestroyedVmsAndTheNameServersName() {
    assertThat(zone.hostCount()).as("app, db; not gone, not ns1").isEqualTo(2);
  }

  // ---- helpers ----

  private static Message query(String name, int type) {
    return Message.newQuery(Record.newRecord(Name.fromConstantString(name), type, DClass.IN));
  }

  private Message udp(Message query) {
    return udp(query, zone);
  }

  private static Message udp(Message query, ZoneIndex zone) {
    return exchange(query, Answers.Transport.UDP, zone);
  }

  private Message tcp(Message query) {
    return exchange(query, Answers.Transport.TCP, zone);
  }

  private static Message exchange(Message query, Answers.Transport transport, ZoneIndex zone) {
    byte[] wire = query.toWire();
    byte[] answer = Answers.respond(wire, wire.length, transport, zone, NOW);
    assertThat(answer).as("an answer to %s", query.getQuestion()).isNotNull();
    if (transport == Answers.Transport.UDP) {
      assertThat(answer.length).isLessThanOrEqualTo(Answers.MAX_UDP_PAYLOAD);
    }
    try {
      return new Message(answer);
    } catch (IOException e) {
      throw new AssertionError("the answer does not parse", e);
    }
  }

  private static List<String> a(Message r) {
    assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
    return r.getSection(Section.ANSWER).stream().map(rec -> ((ARecord) rec).getAddress().getHostAddress()).toList();
  }

  private static List<String> txt(Message r) {
    return r.getSection(Section.ANSWER).stream().flatMap(rec -> ((TXTRecord) rec).getStrings().stream()).toList();
  }

  private static void assertNegativeSoa(Message r) {
    assertThat(r.getSection(Section.AUTHORITY)).singleElement().satisfies(rec -> {
      assertThat(rec).isInstanceOf(SOARecord.class);
      assertThat(rec.getTTL()).isEqualTo(60);
      assertThat(((SOARecord) rec).getMinimum()).isEqualTo(60);
    });
  }
}
