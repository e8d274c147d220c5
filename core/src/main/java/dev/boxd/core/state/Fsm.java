package dev.boxd.core.state;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Command.AddKey;
import dev.boxd.core.state.Command.ApproveRegistration;
import dev.boxd.core.state.Command.CreateUser;
import dev.boxd.core.state.Command.CreateVm;
import dev.boxd.core.state.Command.DestroyVm;
import dev.boxd.core.state.Command.ForkVm;
import dev.boxd.core.state.Command.IdleSleep;
import dev.boxd.core.state.Command.OpenRegistration;
import dev.boxd.core.state.Command.Reboot;
import dev.boxd.core.state.Command.RegisterWorker;
import dev.boxd.core.state.Command.RemoveKey;
import dev.boxd.core.state.Command.RemoveVm;
import dev.boxd.core.state.Command.ReportObserved;
import dev.boxd.core.state.Command.SetAutoSuspend;
import dev.boxd.core.state.Command.SetDesiredPower;
import dev.boxd.core.state.Command.SetUserQuota;
import dev.boxd.core.state.Command.TrafficWake;

/**
 * The replicated state machine: {@code apply(state, index, command)} is a pure function, so every
 * replica that applies the same log reaches the same state. No clock, randomness or IO here: what
 * a command needs (ids, times, addresses) it carries. A command the state does not allow (a name
 * taken, a quota reached) gives a {@link Result.Rejected}, identical everywhere; an exception
 * means a bug or a corrupt log, and the replica must stop rather than diverge.
 */
public final class Fsm {
  private Fsm() {}

  public static Applied apply(ClusterState state, long index, Command command) {
    ClusterState at = skip(state, index);
    return switch (command) {
      case CreateUser c -> UserCommands.createUser(at, c);
      case AddKey c -> UserCommands.addKey(at, c);
      case RemoveKey c -> UserCommands.removeKey(at, c);
      case OpenRegistration c -> UserCommands.openRegistration(at, c);
      case Command.OpenRegistrationFrom c -> UserCommands.openRegistration(at, c);
      case ApproveRegistration c -> UserCommands.approveRegistration(at, c);
      case SetUserQuota c -> UserCommands.setQuota(at, c);
      case Command.SetQuota c -> UserCommands.setQuota(at, c);
      case RegisterWorker c -> WorkerCommands.register(at, c);
      case CreateVm c -> VmCommands.create(at, c);
      case ForkVm c -> VmCommands.fork(at, c);
      case SetAutoSuspend c -> VmCommands.setAutoSuspend(at, c);
      case IdleSleep c -> VmCommands.idleSleep(at, c);
      case TrafficWake c -> VmCommands.trafficWake(at, c);
      case Command.AddSnapshot c -> VmCommands.addSnapshot(at, c);
      case Command.SaveSnapshot c -> VmCommands.saveSnapshot(at, c);
      case Command.SnapshotSaved c -> VmCommands.snapshotSaved(at, c);
      case Command.RemoveSnapshot c -> VmCommands.removeSnapshot(at, c);
      case Command.CreateFromSnapshot c -> VmCommands.createFromSnapshot(at, c);
      case SetDesiredPower c -> VmCommands.setDesiredPower(at, c);
      case Reboot c -> VmCommands.reboot(at, c);
      case DestroyVm c -> VmCommands.destroy(at, c);
      case ReportObserved c -> VmCommands.reportObserved(at, c);
      case RemoveVm c -> VmCommands.remove(at, c);
      case Command.SetAcmeChallenge c -> AcmeCommands.set(at, c);
      case Command.ClearAcmeChallenge c -> AcmeCommands.clear(at, c);
      case Command.SetZoneCertificate c -> AcmeCommands.setCertificate(at, c);
      case Command.AddProxy c -> EdgeCommands.addProxy(at, c);
      case Command.SetProxyPort c -> EdgeCommands.setProxyPort(at, c);
      case Command.RemoveProxy c -> EdgeCommands.removeProxy(at, c);
      case Command.Expose c -> EdgeCommands.expose(at, c);
      case Command.Unexpose c -> EdgeCommands.unexpose(at, c);
      case Command.SetSshPort c -> EdgeCommands.setSshPort(at, c);
      case Command.CreateApiKey c -> ApiKeyCommands.create(at, c);
      case Command.RevokeApiKey c -> ApiKeyCommands.revoke(at, c);
      case Command.SetTokenSigningKey c -> ApiKeyCommands.setSigningKey(at, c);
    };
  }

  /**
   * Moves the state to a log entry that carries no command (a new leader's no-op entry, a change
   * of membership): nothing changes but the applied index, which then matches the log's.
   */
  public static ClusterState skip(ClusterState state, long index) {
    if (index <= state.appliedIndex()) {
      throw new IllegalArgumentException("log index " + index + " is not after the applied index " + state.appliedIndex());
    }
    return state.withAppliedIndex(index);
  }

  static Applied ok(ClusterState state) {
    return new Applied(state, new Result.Ok(state.appliedIndex()));
  }

  static Applied reject(ClusterState state, ErrorCode code, String message) {
    return reject(state, code, message, Result.Reason.NONE);
  }

  static Applied reject(ClusterState state, ErrorCode code, String message, Result.Reason reason) {
    return new Applied(state, new Result.Rejected(code, message, reason));
  }
}
