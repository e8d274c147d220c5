package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.ExecChunk;
import dev.boxd.verbs.Operations.WindowSize;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayOutputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Exec over the API: output apart, exit codes, stdin through, half-close, window changes, cancel, flow control. */
class ExecCallTest {
  private InProcessApi api;

  @AfterEach
  void close() throws Exception {
    if (api != null) {
      api.close();
    }
  }

  /** What a client saw of one exec call. */
  static final class Seen implements ClientResponseObserver<ExecChunk, ExecChunk> {
    final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    final List<Integer> exitCodes = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status> end = new CompletableFuture<>();
    volatile ClientCallStreamObserver<ExecChunk> call;
    final boolean manual;

    Seen(boolean manualFlowControl) {
      this.manual = manualFlowControl;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<ExecChunk> requestStream) {
      call = requestStream;
      if (manual) {
        requestStream.disableAutoRequestWithInitial(1);
      }
    }

    @Override
    public synchronized void onNext(ExecChunk chunk) {
      if (chunk.getExitCode() != 0) {
        exitCodes.add(chunk.getExitCode());
      }
      byte[] bytes = chunk.getData().toByteArray();
      (chunk.getIsStderr() ? stderr : stdout).write(bytes, 0, bytes.length);
    }

    @Override
    public void onError(Throwable t) {
      end.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end.complete(Status.OK);
    }

    synchronized String out() {
      return stdout.toString(StandardCharsets.UTF_8);
    }

    synchronized String err() {
      return stderr.toString(StandardCharsets.UTF_8);
    }
  }

  private static ExecChunk first(String vm, String command) {
    return ExecChunk.newBuilder().setVmId(vm).setCommand(command).build();
  }

  private static ExecChunk stdin(String text) {
    return ExecChunk.newBuilder().setStdin(ByteString.copyFromUtf8(text)).build();
  }

  @Test
  void outputStaysApartStdinFlowsAndTheExitCodeComesLast() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      out.write("out\n".getBytes(StandardCharsets.UTF_8));
      err.write("err\n".getBytes(StandardCharsets.UTF_8));
      in.transferTo(out); // ends only when stdin does: the half-close
      return 3;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(false);
    var requests = api.async().exec(seen);
    requests.onNext(ExecChunk.newBuilder(first("app", "cat")).putEnv("GREETING", "hi").setTimeoutSecs(5).build());
    requests.onNext(stdin("hello "));
    requests.onNext(ExecChunk.newBuilder().setData(ByteString.copyFromUtf8("world")).build()); // data as stdin, as some clients send it
    requests.onCompleted();
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(seen.out()).isEqualTo("out\nhello world");
    assertThat(seen.err()).isEqualTo("err\n");
    assertThat(seen.exitCodes).containsExactly(3);
    assertThat(ops.lastExec.command()).isEqualTo("cat");
    assertThat(ops.lastExec.env()).isEqualTo(Map.of("GREETING", "hi"));
    assertThat(ops.lastExec.timeout()).contains(Duration.ofSeconds(5));
    assertThat(ops.lastExec.tty()).isEmpty();
  }

  @Test
  void aCleanExitSendsNoExitCodeAndStdinEofEndsInputWhileTheCallStaysOpen() throws Exception {
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      out.write(in.readAllBytes());
      return 0;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(false);
    var requests = api.async().exec(seen);
    requests.onNext(first("app", "cat"));
    requests.onNext(ExecChunk.newBuilder(stdin("abc")).setStdinEof(true).build());
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(seen.out()).isEqualTo("abc");
    assertThat(seen.exitCodes).isEmpty();
    requests.onCompleted();
  }

  @Test
  void aTtyGetsItsSizeAndWindowChanges() throws Exception {
    var sizes = new CopyOnWriteArrayList<WindowSize>();
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      var tty = spec.tty().orElseThrow();
      sizes.add(tty.size());
      tty.resizes().subscribe(new Flow.Subscriber<>() {
        @Override
        public void onSubscribe(Flow.Subscription s) {
          s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(WindowSize size) {
          sizes.add(size);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}
      });
      in.readAllBytes();
      return 0;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(false);
    var requests = api.async().exec(seen);
    requests.onNext(ExecChunk.newBuilder(first("app", "bash")).setTty(true).setCols(120).setRows(40).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> !sizes.isEmpty());
    requests.onNext(ExecChunk.newBuilder().setWindowChange(true).setCols(100).setRows(30).build());
    await().atMost(Duration.ofSeconds(10)).until(() -> sizes.size() == 2);
    requests.onCompleted();
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(sizes).containsExactly(new WindowSize(120, 40), new WindowSize(100, 30));
    assertThat(ops.lastExec.tty().orElseThrow().term()).isEqualTo("xterm-256color");
  }

  @Test
  void cancellingTheCallInterruptsTheExec() throws Exception {
    var started = new CountDownLatch(1);
    var interrupted = new CompletableFuture<Boolean>();
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      started.countDown();
      try {
        new CountDownLatch(1).await(); // a command that runs until killed
      } catch (InterruptedException e) {
        interrupted.complete(true);
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("killed");
      }
      return 0;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(false);
    var requests = api.async().exec(seen);
    requests.onNext(first("app", "sleep 1000"));
    assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
    seen.call.cancel("the user gave up", null);
    assertThat(interrupted.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void aPassedDeadlineInterruptsTheExecToo() throws Exception {
    var interrupted = new CompletableFuture<Boolean>();
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        interrupted.complete(true);
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("killed");
      }
      return 0;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(false);
    api.async().withDeadlineAfter(300, TimeUnit.MILLISECONDS).exec(seen).onNext(first("app", "sleep 1000"));
    assertThat(interrupted.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
  }

  @Test
  void outputWaitsForTheClientToReadIt() throws Exception {
    var written = new AtomicLong();
    byte[] chunk = new byte[FlowControlledSink.CHUNK];
    var ops = FakeOperations.builder().vm("app", "running").exec((spec, in, out, err) -> {
      for (int i = 0; i < 100; i++) {
        out.write(chunk);
        written.incrementAndGet();
      }
      return 0;
    }).build();
    api = new InProcessApi(ops);
    var seen = new Seen(true); // asks for one message only
    var requests = api.async().exec(seen);
    requests.onNext(first("app", "yes"));
    requests.onCompleted();
    await().atMost(Duration.ofSeconds(10)).until(() -> written.get() >= 1);
    // The in-process transport is ready only for messages the client asked for: the writer waits.
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> written.get() <= 2);
    seen.call.request(1000);
    assertThat(seen.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.OK);
    assertThat(written.get()).isEqualTo(100);
    assertThat(seen.stdout.size()).isEqualTo(100 * chunk.length);
  }

  @Test
  void aFirstChunkWithoutCommandOrWithAnUnknownVmFails() throws Exception {
    api = new InProcessApi(FakeOperations.builder().vm("app", "running").build());
    var noCommand = new Seen(false);
    api.async().exec(noCommand).onNext(ExecChunk.newBuilder().setVmId("app").build());
    Status refused = noCommand.end.get(10, TimeUnit.SECONDS);
    assertThat(refused.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(refused.getDescription()).contains("command");

    var empty = new Seen(false);
    api.async().exec(empty).onCompleted();
    assertThat(empty.end.get(10, TimeUnit.SECONDS).getCode()).as("a half-close before the first chunk").isEqualTo(Status.Code.INVALID_ARGUMENT);

    var unknown = new Seen(false);
    var requests = api.async().exec(unknown);
    requests.onNext(first("nope", "true"));
    requests.onCompleted();
    assertThat(unknown.end.get(10, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }
}
