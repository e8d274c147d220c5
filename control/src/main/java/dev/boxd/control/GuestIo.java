package dev.boxd.control;

import dev.boxd.core.state.Vm;
import dev.boxd.verbs.Operations.ExecSpec;
import dev.boxd.verbs.Operations.Tty;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.workerport.GuestCommand;
import dev.boxd.workerport.GuestProcess;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.concurrent.Flow;

/**
 * The data plane of one account's VMs: commands, files and copies between VMs, through each VM's
 * worker port. A sleeping VM is woken first, as any inbound traffic would wake it.
 */
final class GuestIo {
  /** A command runs until it ends: the caller (or its --timeout) decides when that is. */
  private static final Duration NO_LIMIT = Duration.ofDays(365);

  private final AccountScope scope;

  GuestIo(AccountScope scope) {
    this.scope = scope;
  }

  int exec(String name, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) {
    Vm vm = scope.usable(name);
    GuestCommand command = GuestCommand.of(spec.command()).withEnv(spec.env()).withTimeout(spec.timeout());
    if (spec.tty().isPresent()) {
      Tty tty = spec.tty().get();
      command = command.withTty(new GuestCommand.Tty(tty.size().rows(), tty.size().cols(), tty.term()));
    }
    GuestProcess process = scope.workerOf(vm).exec(vm.id(), command, stdout, stderr);
    spec.tty().ifPresent(tty -> tty.resizes().subscribe(new ResizeForwarder(process)));
    Thread pump = Thread.ofVirtual().start(() -> {
      try (OutputStream in = process.stdin()) {
        stdin.transferTo(in);
      } catch (IOException | RuntimeException e) {
        // the client went away or the command ended: stop feeding it
      }
    });
    try {
      return process.awaitExit(NO_LIMIT);
    } finally {
      pump.interrupt();
      process.close();
    }
  }

  private record ResizeForwarder(GuestProcess process) implements Flow.Subscriber<WindowSize> {
    @Override
    public void onSubscribe(Flow.Subscription subscription) {
      subscription.request(Long.MAX_VALUE);
    }

    @Override
    public void onNext(WindowSize size) {
      try {
        process.resize(size.rows(), size.cols());
      } catch (IOException e) {
        // the session ended
      }
    }

    @Override
    public void onError(Throwable throwable) {}

    @Override
    public void onComplete() {}
  }

  long upload(String name, String path, int mode, InputStream data) {
    Vm vm = scope.usable(name);
    return scope.workerOf(vm).upload(vm.id(), path, mode, data);
  }

  long download(String name, String path, OutputStream sink) {
    Vm vm = scope.usable(name);
    return scope.workerOf(vm).download(vm.id(), path, sink);
  }

  long copy(String srcName, String srcPath, String dstName, String dstPath) {
    Vm src = scope.usable(srcName);
    Vm dst = scope.usable(dstName);
    return VmToVmCopy.copy(new VmToVmCopy.Side(scope.workerOf(src), src.id(), srcName, srcPath),
        new VmToVmCopy.Side(scope.workerOf(dst), dst.id(), dstName, dstPath));
  }
}
