package dev.boxd.api.grpc;

import dev.boxd.api.v1.LogChunk;
import dev.boxd.api.v1.StreamLogsRequest;
import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.Optional;

/**
 * {@code StreamLogs}: the guest's systemd journal, read by {@code journalctl} run in the VM through
 * {@code Operations.exec} (as root through the image's passwordless sudo; user boxd may not read
 * the system journal). The journal has every unit's output and the kernel's messages, which is
 * what a user looks for; the serial console log stays on the worker (the worker port offers no
 * way to it) and holds only the boot. Following ends when the client cancels, which kills
 * {@code journalctl} like any exec.
 */
final class GuestJournal {
  static final int DEFAULT_LINES = 200;
  static final int MAX_LINES = 100_000;

  private GuestJournal() {}

  static String command(StreamLogsRequest request) {
    int lines = request.getLines() == 0 ? DEFAULT_LINES : request.getLines();
    if (lines < 0 || lines > MAX_LINES) {
      throw BoxdException.invalid("invalid lines " + Integer.toUnsignedString(request.getLines()) + ": expected 1 to " + MAX_LINES
          + " (0: " + DEFAULT_LINES + ")");
    }
    return "exec sudo -n journalctl --no-pager --lines=" + lines + (request.getNoFollow() ? "" : " --follow");
  }

  static void stream(Operations ops, Offload offload, StreamLogsRequest request, StreamObserver<LogChunk> observer) {
    var call = (ServerCallStreamObserver<LogChunk>) observer;
    var sink = new FlowControlledSink<>(call);
    Offload.Running running = offload.prepare("logs", () -> {
      try {
        String vm = Requests.vm("vm_id", request.getVmId());
        OutputStream out = sink.stream(bytes -> LogChunk.newBuilder().setData(bytes).build());
        int exit = ops.exec(vm, new Operations.ExecSpec(command(request), Map.of(), Optional.empty(), Optional.empty()),
            InputStream.nullInputStream(), out, out);
        if (exit != 0) {
          throw BoxdException.precondition("journalctl in VM " + vm + " exited with " + exit + "; what it printed is above");
        }
        sink.complete(null);
      } catch (Throwable e) {
        sink.fail(e);
      }
    });
    call.setOnCancelHandler(running::interrupt);
    if (!running.start()) {
      sink.fail(offload.busy());
    }
  }
}
