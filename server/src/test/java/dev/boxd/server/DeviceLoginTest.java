package dev.boxd.server;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.api.v1.CreateVmRequest;
import dev.boxd.api.v1.DestroyVmRequest;
import dev.boxd.api.v1.DirEntry;
import dev.boxd.api.v1.ExchangeApiKeyRequest;
import dev.boxd.api.v1.GetSshConfigRequest;
import dev.boxd.api.v1.ListApiKeysRequest;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.api.v1.PollDeviceLoginRequest;
import dev.boxd.api.v1.PollDeviceLoginResponse;
import dev.boxd.api.v1.StartDeviceLoginRequest;
import dev.boxd.api.v1.StartDeviceLoginResponse;
import dev.boxd.api.v1.UploadFileRequest;
import dev.boxd.api.v1.WhoamiRequest;
import dev.boxd.testkit.server.LiveServer;
import dev.boxd.testkit.server.SshUser;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the laptop CLI does against a real server over TLS, with no token to begin with: a device
 * login with a fresh ed25519 key (linked by the operator's approval), the API key it hands out,
 * that key exchanged over gRPC for a token; then, with that token, one VM's SSH configuration
 * and a directory listing in it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DeviceLoginTest {
  @RegisterExtension
  static final LiveServer live = LiveServer.shared();
  static Path dir;
  static Path caFile;
  static ApiClient anonymous;
  static String token;
  static String userId;

  @BeforeAll
  static void setUp() throws Exception {
    dir = Files.createTempDirectory("boxd-device-login-test-");
    caFile = dir.resolve("ca.pem");
    Files.writeString(caFile, live.server().caCertificate());
    anonymous = ApiClient.connect(live.server(), caFile, null);
  }

  @AfterAll
  static void cleanUp() throws Exception {
    if (anonymous != null) {
      anonymous.close();
    }
    if (dir != null) {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** A new ed25519 key as {@code boxd auth login} makes one; its public half in authorized_keys form. */
  private static String freshPublicKey(String name) throws Exception {
    Path key = dir.resolve(name);
    Process keygen = new ProcessBuilder("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "device@test", "-f", key.toString())
        .redirectErrorStream(true).start();
    String out = new String(keygen.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(keygen.waitFor()).as(out).isZero();
    return Files.readString(Path.of(key + ".pub")).strip();
  }

  /** A request with the proof {@code boxd auth login} gives: the key and the time, signed by ssh-keygen with {@code keyFile}. */
  private static StartDeviceLoginRequest.Builder signed(String publicKey, String keyFile) throws Exception {
    return signed(publicKey, dir.resolve(keyFile));
  }

  private static StartDeviceLoginRequest.Builder signed(String publicKey, Path keyFile) throws Exception {
    long at = Instant.now().getEpochSecond();
    Process sign = new ProcessBuilder("ssh-keygen", "-q", "-Y", "sign", "-f", keyFile.toString(), "-n", "boxd-device-login")
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    try (var in = sign.getOutputStream()) {
      in.write((publicKey + "\n" + at + "\n").getBytes(StandardCharsets.UTF_8));
    }
    String signature = new String(sign.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(sign.waitFor()).isZero();
    return StartDeviceLoginRequest.newBuilder().setPublicKey(publicKey).setKeySignature(signature).setSignedAt(at);
  }

  private static PollDeviceLoginResponse poll(String pollToken) {
    return anonymous.api().pollDeviceLogin(PollDeviceLoginRequest.newBuilder().setPollToken(pollToken).build());
  }

  @Test
  @Order(1)
  void aDeviceLoginApprovedByTheOperatorGivesTheDeviceAnApiKey() throws Exception {
    StartDeviceLoginResponse started = anonymous.api().startDeviceLogin(signed(freshPublicKey("device_key"), "device_key")
        .setDeviceName("Test Laptop").build());
    assertThat(started.getCode()).matches("[A-Z2-9]{8}");
    assertThat(started.getUrl()).isEqualTo("https://localhost:" + live.server().httpsPort + "/register?code=" + started.getCode());
    assertThat(Base64.getUrlDecoder().decode(started.getPollToken())).hasSize(32);
    assertThat(started.getIntervalSecs()).isEqualTo(2);
    long now = Instant.now().getEpochSecond();
    assertThat(started.getExpiresAt()).isBetween(now + 3600 - 60, now + 3600);

    assertThat(poll(started.getPollToken()).getLinked()).as("not linked before the operator approves").isFalse();
    assertThat(live.server().admin("approve", started.getCode())).contains("linked to user");
    // The approval is written before admin returns; polling as the CLI does only allows for a slow replica.
    PollDeviceLoginResponse linked = Awaitility.await().atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofSeconds(started.getIntervalSecs())).until(() -> poll(started.getPollToken()), PollDeviceLoginResponse::getLinked);
    assertThat(linked.getApiKey()).matches("bxd_[0-9A-Za-z]{43}");
    assertThat(linked.getApiKeyId()).matches("key_[0-9A-Za-z]{16}");
    userId = linked.getUserId();
    assertThat(userId).isNotEmpty();

    Status again = ApiClient.statusOf(() -> poll(started.getPollToken()));
    assertThat(again.getCode()).as("the poll token is spent").isEqualTo(Status.Code.NOT_FOUND);
    assertThat(again.getDescription()).isEqualTo("no login in progress for this token: run `boxd auth login` again");

    var issued = anonymous.api().exchangeApiKey(ExchangeApiKeyRequest.newBuilder().setApiKey(linked.getApiKey()).build());
    assertThat(issued.getUserId()).isEqualTo(userId);
    assertThat(issued.getExpiresAt()).isGreaterThan(now);
    token = issued.getToken();
    try (ApiClient client = ApiClient.withToken(live.server(), caFile, token)) {
      var who = client.api().whoami(WhoamiRequest.getDefaultInstance());
      assertThat(who.getUserId()).isEqualTo(userId);
      assertThat(who.getName()).isEqualTo("user-" + started.getCode().toLowerCase());
      assertThat(client.api().listApiKeys(ListApiKeysRequest.getDefaultInstance()).getKeysList())
          .anySatisfy(key -> {
            assertThat(key.getId()).isEqualTo(linked.getApiKeyId());
            assertThat(key.getName()).isEqualTo("device-test-laptop");
          });
    }
  }

  @Test
  @Order(2)
  void badKeysLinkedKeysAndBogusSecretsAreRefused() throws Exception {
    Status garbage = ApiClient.statusOf(() -> anonymous.api().startDeviceLogin(StartDeviceLoginRequest.newBuilder()
        .setPublicKey("not a key").build()));
    assertThat(garbage.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(garbage.getDescription()).contains("not an SSH public key");
    String[] words = freshPublicKey("mislabelled").split(" ");
    var mislabelledRequest = signed("ssh-rsa " + words[1], "mislabelled").build();
    Status mislabelled = ApiClient.statusOf(() -> anonymous.api().startDeviceLogin(mislabelledRequest));
    assertThat(mislabelled.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(mislabelled.getDescription()).contains("the line says ssh-rsa but its key data holds a ssh-ed25519 key");

    SshUser linked = live.user("devlogin-linked");
    String linkedKey = Files.readString(linked.publicKey()).strip();
    var takenRequest = signed(linkedKey, linked.key).build();
    Status taken = ApiClient.statusOf(() -> anonymous.api().startDeviceLogin(takenRequest));
    assertThat(taken.getCode()).isEqualTo(Status.Code.ALREADY_EXISTS);
    assertThat(taken.getDescription()).contains("already linked to an account").contains("new key");

    // someone else's public key, which anyone may know, without its private half: never offered for linking
    String victim = freshPublicKey("victim");
    var byThief = signed(victim, "mislabelled").build();
    Status stolen = ApiClient.statusOf(() -> anonymous.api().startDeviceLogin(byThief));
    assertThat(stolen.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(stolen.getDescription()).contains("no proof that this device holds the key");
    Status unsigned = ApiClient.statusOf(() -> anonymous.api().startDeviceLogin(StartDeviceLoginRequest.newBuilder().setPublicKey(victim).build()));
    assertThat(unsigned.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);

    Status bogus = ApiClient.statusOf(() -> anonymous.api().exchangeApiKey(ExchangeApiKeyRequest.newBuilder()
        .setApiKey("bxd_" + "0".repeat(43)).build()));
    assertThat(bogus.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(bogus.getDescription()).isEqualTo("unknown API key");
    assertThat(ApiClient.statusOf(() -> poll("made-up")).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(ApiClient.statusOf(() -> anonymous.api().whoami(WhoamiRequest.getDefaultInstance())).getCode())
        .as("only the three calls that get a token go in without one").isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  @Order(3)
  void theDevicesTokenListsItsVmsSshConfigAndADirectoryInIt() throws Exception {
    assertThat(token).as("the device login above gave a token").isNotNull();
    try (ApiClient client = ApiClient.withToken(live.server(), caFile, token)) {
      String vmId = client.api().withDeadlineAfter(600, TimeUnit.SECONDS).createVm(CreateVmRequest.newBuilder().setName("devlogin-app").build())
          .getVmId();
      try {
        var config = client.api().getSshConfig(GetSshConfigRequest.getDefaultInstance());
        assertThat(config.getHostKey()).startsWith("ssh-ed25519 AAAA");
        assertThat(config.getHostsList()).singleElement().satisfies(host -> {
          assertThat(host.getVm()).isEqualTo("devlogin-app");
          assertThat(host.getAlias()).isEqualTo("devlogin-app.localhost");
          assertThat(host.getHostName()).isEqualTo(live.server().edgeAddress);
          assertThat(host.getPort()).isBetween(10000, 30000);
          assertThat(host.getUser()).isEqualTo("boxd");
        });

        byte[] data = "listed by the device's token\n".getBytes(StandardCharsets.UTF_8);
        client.api().uploadFile(UploadFileRequest.newBuilder().setVmId(vmId).setPath("device-notes.txt").setData(ByteString.copyFrom(data))
            .build());
        var home = client.api().listDir(ListDirRequest.newBuilder().setVmId(vmId).setPath("/home/boxd").build());
        assertThat(home.getEntriesList()).filteredOn(e -> e.getName().equals("device-notes.txt")).singleElement().satisfies(e -> {
          assertThat(e.getType()).isEqualTo("file");
          assertThat(e.getSize()).isEqualTo(data.length);
          assertThat(e.getMode()).isEqualTo(0644);
          assertThat(Instant.parse(e.getModifiedAt())).isAfter(Instant.now().minus(Duration.ofMinutes(10)));
        });
        assertThat(client.api().listDir(ListDirRequest.newBuilder().setVmId(vmId).build()).getEntriesList()).extracting(DirEntry::getName)
            .as("an empty path is the home directory").contains("device-notes.txt");

        Status missing = ApiClient.statusOf(() -> client.api().listDir(ListDirRequest.newBuilder().setVmId(vmId).setPath("no/such").build()));
        assertThat(missing.getCode()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(missing.getDescription()).endsWith("/home/boxd/no/such");
        Status file = ApiClient.statusOf(() -> client.api().listDir(ListDirRequest.newBuilder().setVmId(vmId).setPath("device-notes.txt")
            .build()));
        assertThat(file.getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(file.getDescription()).contains("not a directory").contains("/home/boxd/device-notes.txt");
      } finally {
        client.api().withDeadlineAfter(300, TimeUnit.SECONDS).destroyVm(DestroyVmRequest.newBuilder().setVmId(vmId).build());
      }
    }
  }
}
