package dev.boxd.verbs;

import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a caller may do, already bound to the caller's identity: every method acts only on the
 * caller's own VMs, and a VM of another owner is simply NOT_FOUND. Failures are
 * {@link dev.boxd.core.BoxdException}s carrying a code from the one error table. Implemented by
 * the control plane; every transport (SSH front door, in-VM gateway, CLI) drives it through the
 * verbs, never directly.
 */
public interface Operations {

  /** A VM as users see it (SPEC §3 JSON). */
  record VmView(String id, String name, String status, String ip, String publicIp, String image, String url,
      long bootTimeMs, int vcpus, int memoryMib, int diskGb, String createdAt) {}

  record NewRequest(Optional<String> name, Optional<Integer> vcpus, Optional<Integer> memoryMib) {}

  /** Creates a VM and returns once it is running and exec-ready. */
  VmView create(NewRequest request);

  List<VmView> list();

  /** By name or id. */
  VmView info(String vm);

  /** Runs a command as user boxd through a shell; returns its exit code (124 on timeout). */
  int exec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr);

  record ExecSpec(String command, Map<String, String> env, Optional<Duration> timeout, Optional<Tty> tty) {}

  /** A terminal for exec/connect; {@code resizes} delivers later window changes. */
  record Tty(String term, int cols, int rows, java.util.concurrent.Flow.Publisher<int[]> resizes) {}

  /** Streams {@code data} into {@code path} (relative to /home/boxd unless absolute); returns bytes written. */
  long upload(String vm, String path, int mode, InputStream data);

  /** Streams the file at {@code path} out; returns bytes read. */
  long download(String vm, String path, OutputStream sink);

  /** Timings in microseconds, as the JSON's suspend_us / resume_us. */
  long pause(String vm);

  long resume(String vm);

  VmView reboot(String vm);

  VmView stop(String vm);

  VmView start(String vm);

  void destroy(String vm);

  record Whoami(String userId, String name, List<String> keyFingerprints) {}

  Whoami whoami();
}
