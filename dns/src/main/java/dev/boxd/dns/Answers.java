package dev.boxd.dns;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * The authoritative answers: a pure function from a query's bytes, the zone's index and the time
 * to the response's bytes, with no IO, so every case is tested without sockets.
 *
 * <p>Authoritative only (AA set, RA clear, no recursion): names under the zone answer from the
 * index, others are REFUSED. A missing name is NXDOMAIN and a missing type NODATA, both with the
 * SOA in the authority section for negative caching (RFC 2308). ANY gets the name's records
 * instead of "everything" (RFC 8482 allows it; there is never more). EDNS(0) is answered in kind
 * (RFC 6891): the OPT is echoed with our payload size, a version above 0 gets BADVERS, and a UDP
 * response is cut to the client's payload size (512 bytes without EDNS, at most 1232, the size
 * that avoids fragmentation) with TC set, so the client asks again over TCP.
 */
public final class Answers {
  /** The UDP payload we advertise and the most we send: the DNS flag day 2020 size. */
  public static final int MAX_UDP_PAYLOAD = 1232;
  private static final int MIN_UDP_PAYLOAD = 512;
  private static final int MAX_TCP_MESSAGE = 65_535;

  /** How a query arrived: over UDP a response must fit the client's payload size. */
  public enum Transport { UDP, TCP }

  private Answers() {}

  /**
   * The response to the query in {@code wire[0..length)}, or null when none is due: fewer bytes
   * than a header, or a message that is itself a response (answering those could loop).
   */
  public static byte[] respond(byte[] wire, int length, Transport transport, ZoneIndex zone, Instant now) {
    if (length < Header.LENGTH || (wire[2] & 0x80) != 0) {
      return null;
    }
    Message query;
    try {
      query = new Message(ByteBuffer.wrap(wire, 0, length));
    } catch (IOException | RuntimeException e) {
      return formatError(wire);
    }
    Message response = answer(query, zone, now);
    return response.toWire(maxLength(query, transport));
  }

  /** The response to a parsed query, before it is cut to size. */
  public static Message answer(Message query, ZoneIndex zone, Instant now) {
    Header asked = query.getHeader();
    Message response = new Message(asked.getID());
    Header header = response.getHeader();
    header.setFlag(Flags.QR);
    header.setOpcode(asked.getOpcode());
    copyFlag(asked, header, Flags.RD);
    copyFlag(asked, header, Flags.CD);
    OPTRecord opt = query.getOPT();
    if (opt != null && opt.getVersion() > 0) {
      // BADVERS (16) is an extended code: its high bits travel in the OPT record.
      response.addRecord(ourOpt(opt, Rcode.BADVERS >>> 4), Section.ADDITIONAL);
      return response;
    }
    if (opt != null) {
      response.addRecord(ourOpt(opt, 0), Section.ADDITIONAL);
    }
    List<Record> questions = query.getSection(Section.QUESTION);
    if (asked.getOpcode() != Opcode.QUERY) {
      questions.forEach(q -> response.addRecord(q, Section.QUESTION));
      header.setRcode(Rcode.NOTIMP);
      return response;
    }
    if (questions.size() != 1) {
      header.setRcode(Rcode.FORMERR);
      return response;
    }
    Record question = questions.getFirst();
    response.addRecord(question, Section.QUESTION);
    int type = question.getType();
    ZoneIndex.Node node = question.getDClass() == DClass.IN || question.getDClass() == DClass.ANY
        ? zone.find(question.getName(), now) : ZoneIndex.Node.OUT_OF_ZONE;
    if (node instanceof ZoneIndex.Node.OutOfZone || type == Type.AXFR || type == Type.IXFR) {
      header.setRcode(Rcode.REFUSED); // not ours, and no zone transfers
      return response;
    }
    header.setFlag(Flags.AA);
    if (node instanceof ZoneIndex.Node.None) {
      header.setRcode(Rcode.NXDOMAIN);
    }
    List<Record> records = records(node, type, question.getName(), zone);
    if (records.isEmpty()) {
      response.addRecord(zone.soa(), Section.AUTHORITY); // NXDOMAIN or NODATA: how long to remember it
    }
    records.forEach(r -> response.addRecord(r, Section.ANSWER));
    if (node instanceof ZoneIndex.Node.Apex && type == Type.NS) {
      response.addRecord(zone.nameServerA(), Section.ADDITIONAL); // glue: the name server is in the zone
    }
    return response;
  }

  // The records of {@code type} at a name of the zone; none is NODATA (or NXDOMAIN for a name that is not there).
  private static List<Record> records(ZoneIndex.Node node, int type, Name name, ZoneIndex zone) {
    return switch (node) {
      case ZoneIndex.Node.Apex _ -> switch (type) {
        case Type.SOA -> List.of(zone.soa());
        case Type.NS -> List.of(zone.ns());
        case Type.ANY -> List.of(zone.soa(), zone.ns());
        default -> List.of();
      };
      case ZoneIndex.Node.NameServer _ -> type == Type.A || type == Type.ANY
          ? List.of(new ARecord(name, DClass.IN, ZoneConfig.NS_TTL, zone.config().nameServer())) : List.of();
      case ZoneIndex.Node.Host host -> type == Type.A || type == Type.ANY
          ? List.of(new ARecord(name, DClass.IN, ZoneConfig.TTL, host.address())) : List.of();
      case ZoneIndex.Node.Challenge challenge -> type == Type.TXT || type == Type.ANY
          ? challenge.values().stream().<Record>map(value -> new TXTRecord(name, DClass.IN, ZoneConfig.TTL, value)).toList()
          : List.of();
      case ZoneIndex.Node.Empty _, ZoneIndex.Node.None _ -> List.of();
      case ZoneIndex.Node.OutOfZone _ -> throw new IllegalStateException("out-of-zone names are refused before");
    };
  }

  private static void copyFlag(Header from, Header to, int flag) {
    if (from.getFlag(flag)) {
      to.setFlag(flag);
    }
  }

  // The DO bit is copied (RFC 3225); the zone is unsigned, so it changes nothing else.
  private static OPTRecord ourOpt(OPTRecord theirs, int extendedRcode) {
    return new OPTRecord(MAX_UDP_PAYLOAD, extendedRcode, 0, theirs.getFlags() & ExtendedFlags.DO);
  }

  private static int maxLength(Message query, Transport transport) {
    if (transport == Transport.TCP) {
      return MAX_TCP_MESSAGE;
    }
    OPTRecord opt = query.getOPT();
    return opt == null ? MIN_UDP_PAYLOAD : Math.clamp(opt.getPayloadSize(), MIN_UDP_PAYLOAD, MAX_UDP_PAYLOAD);
  }

  /**
   * SERVFAIL for the query in {@code wire[0..length)}, for when there is nothing to answer from
   * (the replica is closed); null where {@link #respond} would not answer either.
   */
  public static byte[] serverFailure(byte[] wire, int length) {
    return length < Header.LENGTH || (wire[2] & 0x80) != 0 ? null : headerOnly(wire, Rcode.SERVFAIL);
  }

  // A query that does not parse gets its id back with FORMERR, and nothing else we could misread.
  private static byte[] formatError(byte[] wire) {
    return headerOnly(wire, Rcode.FORMERR);
  }

  private static byte[] headerOnly(byte[] wire, int rcode) {
    byte[] out = new byte[Header.LENGTH];
    out[0] = wire[0];
    out[1] = wire[1];
    out[2] = (byte) (0x80 | (wire[2] & 0x78)); // QR, and the query's opcode
    out[3] = (byte) rcode;
    return out;
  }
}
