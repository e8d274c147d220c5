package dev.boxd.ssh;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A front door on 127.0.0.1 and an ephemeral port, over in-memory operations, with two users'
 * keys: {@link #ssh} is linked to an account, {@link #stranger} is not.
 */
final class Door implements AutoCloseable {
  static final String WEB_HOST = "boxd.test";
  final FakeOperations ops = new FakeOperations();
  final FakeAccounts accounts = new FakeAccounts(ops);
  final FrontDoor door;
  final SshClient ssh;
  final SshClient stranger;
  final Path userKey;
  final Path strangerKey;

  Door(Path dir) {
    userKey = SshClient.keygen(dir, "user");
    strangerKey = SshClient.keygen(dir, "stranger");
    accounts.accountByFingerprint.put(SshClient.fingerprint(userKey), "user-1");
    try {
      door = FrontDoor.builder(accounts).listen("127.0.0.1", 0).hostKey(dir.resolve("host/ssh_host_ed25519_key"))
          .registrationUrl("https://" + WEB_HOST + "/register?code=").start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ssh = new SshClient(door.port(), userKey);
    stranger = new SshClient(door.port(), strangerKey);
  }

  @Override
  public void close() {
    door.close();
  }
}
