package dev.boxd.core.state.codec;

import dev.boxd.core.state.AcmeChallenge;
import dev.boxd.core.state.ApiKey;
import dev.boxd.core.state.ClusterState;
import dev.boxd.core.state.Exposure;
import dev.boxd.core.state.Proxy;
import dev.boxd.core.state.Registration;
import dev.boxd.core.state.SshKey;
import dev.boxd.core.state.TokenSigningKey;
import dev.boxd.core.state.User;
import dev.boxd.core.state.Snapshot;
import dev.boxd.core.state.Vm;
import dev.boxd.core.state.Worker;
import dev.boxd.core.state.ZoneCertificate;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * The bytes of a {@link ClusterState} snapshot: magic {@code BOXDSNAP}, format version (u16, now
 * 11; 1 had no forkedFrom, 2 no autoSuspendSecs, fromSnapshot or snapshots, 3 no registration
 * source, 4 a VM count as a user's whole quota, 5 saved snapshots only, without their size, 6 no
 * SSH port per VM, no HTTPS routes and no raw forwards, 7 no image per VM, 8 no ACME challenges,
 * 9 no zone certificates, 10 no API keys, 11 no isolation flags), the applied index, then users, keys,
 * registrations, workers, VMs, (from 3) snapshots, (from 7) routes and forwards, (from 9) ACME
 * challenges, (from 10) zone certificates and (from 11) API keys and the token signing key (a
 * section of 0 or 1), each as a count (i32) and records in sorted order; from 12 each VM and
 * snapshot record ends with whether it is isolated.
 * order, so one state always gives the same bytes. Indexes are rebuilt on decoding, never stored.
 * A newer format gets a new version; this class keeps reading the old.
 */
public final class SnapshotCodec {
  static final int VERSION = 12;
  /** The first format with isolated VMs (SPEC §12): a flag at the end of each VM and snapshot record. */
  static final int ISOLATION_VERSION = 12;
  private static final byte[] MAGIC = "BOXDSNAP".getBytes(StandardCharsets.US_ASCII);

  private SnapshotCodec() {}

  public static byte[] encode(ClusterState state) {
    WireWriter out = new WireWriter().raw(MAGIC).u16(VERSION).i64(state.appliedIndex());
    section(out, state.users(), RecordWire::user);
    section(out, state.keys(), RecordWire::key);
    section(out, state.registrations(), RecordWire::registration);
    section(out, state.workers(), RecordWire::worker);
    section(out, state.vms(), RecordWire::vm);
    section(out, state.snapshots(), RecordWire::snapshotInState);
    section(out, state.proxies(), RecordWire::proxy);
    section(out, state.exposures(), RecordWire::exposure);
    section(out, state.acmeChallenges(), RecordWire::acmeChallenge);
    section(out, state.zoneCertificates(), RecordWire::zoneCertificate);
    // format 11: API keys and the token signing key
    section(out, state.apiKeys(), ApiKeyWire::apiKey);
    section(out, state.tokenSigningKey().stream().toList(), ApiKeyWire::signingKey);
    return out.toBytes();
  }

  public static ClusterState decode(byte[] bytes) {
    WireReader in = new WireReader(bytes, "snapshot");
    if (!Arrays.equals(in.raw(MAGIC.length), MAGIC)) {
      throw in.corrupt("not a boxd snapshot (no BOXDSNAP header)");
    }
    int version = in.u16();
    if (version < 1 || version > VERSION) {
      throw in.corrupt("snapshot format version " + version + " is not known to this boxd (knows 1 to " + VERSION + ")");
    }
    long index = in.i64();
    List<User> users = section(in, r -> RecordWire.user(r, version));
    List<SshKey> keys = section(in, RecordWire::key);
    List<Registration> registrations = section(in, r -> RecordWire.registration(r, version));
    List<Worker> workers = section(in, RecordWire::worker);
    List<Vm> vms = section(in, r -> RecordWire.vm(r, version));
    List<Snapshot> snapshots = version >= 3 ? section(in, r -> RecordWire.snapshotInState(r, version)) : List.of();
    List<Proxy> proxies = version >= 7 ? section(in, RecordWire::proxy) : List.of();
    List<Exposure> exposures = version >= 7 ? section(in, RecordWire::exposure) : List.of();
    List<AcmeChallenge> challenges = version >= 9 ? section(in, RecordWire::acmeChallenge) : List.of();
    List<ZoneCertificate> certificates = version >= 10 ? section(in, RecordWire::zoneCertificate) : List.of();
    // format 11: API keys and the token signing key
    List<ApiKey> apiKeys = version >= 11 ? section(in, ApiKeyWire::apiKey) : List.of();
    List<TokenSigningKey> signingKeys = version >= 11 ? section(in, ApiKeyWire::signingKey) : List.of();
    if (signingKeys.size() > 1) {
      throw in.corrupt(signingKeys.size() + " token signing keys where there is one at most");
    }
    in.end();
    try {
      return ClusterState.restore(index, users, keys, registrations, workers, vms, snapshots, challenges, proxies, exposures,
          certificates, apiKeys, signingKeys.stream().findFirst());
    } catch (IllegalArgumentException e) {
      throw new CorruptDataException("corrupt snapshot at index " + index + ": " + e.getMessage());
    }
  }

  private static <T> void section(WireWriter out, Collection<T> records, BiConsumer<WireWriter, T> write) {
    out.i32(records.size());
    records.forEach(record -> write.accept(out, record));
  }

  private static <T> List<T> section(WireReader in, Function<WireReader, T> read) {
    int count = in.i32();
    if (count < 0) {
      throw in.corrupt("negative record count " + count);
    }
    List<T> records = new ArrayList<>(Math.min(count, 1024));
    for (int i = 0; i < count; i++) {
      records.add(read.apply(in));
    }
    return records;
  }
}
