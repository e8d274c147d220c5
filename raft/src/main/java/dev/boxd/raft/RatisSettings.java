package dev.boxd.raft;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.retry.RequestTypeDependentRetryPolicy;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.proto.RaftProtos.RaftClientRequestProto.TypeCase;
import org.apache.ratis.proto.RaftProtos.RaftPeerRole;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/** Translates a {@link RaftConfig} into Ratis's properties, group and client retry policy. */
final class RatisSettings {
  /** One Raft group per cluster, so its id is a constant; it names the directory under the data dir. */
  static final RaftGroupId GROUP_ID =
      RaftGroupId.valueOf(UUID.nameUUIDFromBytes("boxd-state".getBytes(StandardCharsets.UTF_8)));

  private RatisSettings() {}

  static RaftProperties properties(RaftConfig config) {
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    GrpcConfigKeys.Server.setHost(p, config.self().host());
    GrpcConfigKeys.Server.setPort(p, config.self().port());
    RaftServerConfigKeys.setStorageDir(p, List.of(config.dataDir().toFile()));

    long electionMs = config.electionTimeout().toMillis();
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(electionMs, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2 * electionMs, TimeUnit.MILLISECONDS));

    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotThreshold());
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    // Purge the log up to the snapshot even if a peer is behind: a peer that is down for long
    // (a listener on a retired worker) must not make the log grow for ever; it catches up by
    // installing the snapshot instead.
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf("8MB"));
    // Ratis appends a metadata entry with the commit index after each commit. That entry is
    // what tells followers and listeners promptly that an entry is committed (otherwise they
    // learn it from the next heartbeat, ~150 ms later, which a proposer on such a node waits
    // for). A group of one has no one to tell and its log recovers its commit index alone;
    // there the entry only costs a second log write per command (~30% of write latency).
    RaftServerConfigKeys.Log.setLogMetadataEnabled(p, config.peers().size() > 1);
    return p;
  }

  /** Every peer with its startup role: voters as followers, the others as listeners. */
  static RaftGroup group(List<Peer> peers) {
    return RaftGroup.valueOf(GROUP_ID, peers.stream().map(RatisSettings::peer).toList());
  }

  static RaftPeer peer(Peer peer) {
    return RaftPeer.newBuilder()
        .setId(RaftPeerId.valueOf(peer.id()))
        .setAddress(peer.address())
        .setStartupRole(peer.isVoter() ? RaftPeerRole.FOLLOWER : RaftPeerRole.LISTENER)
        .build();
  }

  /**
   * Writes are retried across leader changes until the propose timeout. A retry reuses the call
   * id, and every replica's retry cache remembers replies by call id, so a write the old leader
   * committed just before it died is answered from the cache, not applied twice.
   */
  static RetryPolicy retryPolicy(RaftConfig config) {
    TimeDuration sleep = TimeDuration.valueOf(50, TimeUnit.MILLISECONDS);
    TimeDuration deadline = TimeDuration.valueOf(config.proposeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    RequestTypeDependentRetryPolicy.Builder policy = RequestTypeDependentRetryPolicy.newBuilder();
    for (TypeCase type : List.of(TypeCase.WRITE, TypeCase.READ, TypeCase.WATCH, TypeCase.STALEREAD)) {
      policy.setRetryPolicy(type, RetryPolicies.retryForeverWithSleep(sleep)).setTimeout(type, deadline);
    }
    return policy.build();
  }
}
