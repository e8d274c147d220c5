package dev.boxd.verbs;

import dev.boxd.verbs.testing.FakeOperations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * The shared {@link FakeOperations} as the verbs' tests use it: uploads are kept, downloads and
 * copies serve {@link #fileToDownload}, exec runs {@link #execBody}, all settable per test.
 */
class RecordingOperations extends FakeOperations {
  byte[] uploaded;
  int uploadedMode;
  byte[] fileToDownload = new byte[0];
  ExecBody execBody = (spec, in, out, err) -> 0;

  RecordingOperations() {
    super(FakeOperations.builder()
        .sshConfig(ops -> new SshConfig("boxd-vms.boxd.test", "ssh-ed25519 AAAAgateway",
            ops.vms.values().stream().sorted((a, b) -> a.name().compareTo(b.name()))
                .map(v -> new SshHost(v.name() + ".boxd.test", v.name(), "127.77.0.2", 22, "boxd")).toList())));
  }

  RecordingOperations with(String name, String status) {
    vms.put(name, vm(name, status));
    return this;
  }

  static VmView vm(String name, String status) {
    return FakeOperations.builder().build().view(name, status);
  }

  @Override
  protected int runExec(String vm, ExecSpec spec, InputStream stdin, OutputStream stdout, OutputStream stderr) throws IOException {
    return execBody.run(spec, stdin, stdout, stderr);
  }

  @Override
  protected long receive(String vm, String path, int mode, InputStream data) throws IOException {
    uploaded = data.readAllBytes();
    uploadedMode = mode;
    return uploaded.length;
  }

  @Override
  protected long send(String vm, String path, OutputStream sink) throws IOException {
    sink.write(fileToDownload);
    return fileToDownload.length;
  }

  @Override
  protected long copied() {
    return fileToDownload.length;
  }

  static byte[] bytes(ByteArrayOutputStream out) {
    return out.toByteArray();
  }
}
