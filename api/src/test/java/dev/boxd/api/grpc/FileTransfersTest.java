package dev.boxd.api.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.DownloadFileRequest;
import dev.boxd.api.v1.FileChunk;
import dev.boxd.api.v1.StreamLogsRequest;
import dev.boxd.api.v1.UploadFileRequest;
import dev.boxd.api.v1.UploadFileResponse;
import dev.boxd.verbs.testing.FakeOperations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Files in and out, unary within the cap and streamed beyond it; the guest journal. */
class FileTransfersTest {
  private InProcessApi api;
  private final ByteArrayOutputStream stored = new ByteArrayOutputStream();
  private volatile int storedMode;
  private volatile byte[] file = new byte[0];

  @AfterEach
  void close() throws Exception {
    if (api != null) {
      api.close();
    }
  }

  private void start() throws Exception {
    api = new InProcessApi(FakeOperations.builder().vm("app", "running")
        .upload((vm, path, mode, data) -> {
          storedMode = mode;
          return data.transferTo(stored);
        })
        .download((vm, path, sink) -> {
          sink.write(file);
          return file.length;
        })
        .exec((spec, in, out, err) -> {
          out.write(("ran: " + spec.command()).getBytes(StandardCharsets.UTF_8));
          return 0;
        }).build());
  }

  private static byte[] random(int size) {
    byte[] bytes = new byte[size];
    new Random(7).nextBytes(bytes);
    return bytes;
  }

  @Test
  void unaryFilesRoundTripWithinTheCap() throws Exception {
    start();
    var written = api.blocking().uploadFile(UploadFileRequest.newBuilder().setVmId("app").setPath("a.txt")
        .setData(ByteString.copyFromUtf8("hello")).build());
    assertThat(written.getBytesWritten()).isEqualTo(5);
    assertThat(stored.toString(StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(storedMode).isEqualTo(0644);
    file = "content".getBytes(StandardCharsets.UTF_8);
    assertThat(api.blocking().downloadFile(DownloadFileRequest.newBuilder().setVmId("app").setPath("a.txt").build()).getData().toStringUtf8())
        .isEqualTo("content");
  }

  @Test
  void unaryFilesOverTheCapNameTheStreamingCall() throws Exception {
    start();
    var upload = catchThrowableOfType(StatusRuntimeException.class, () -> api.blocking().uploadFile(UploadFileRequest.newBuilder()
        .setVmId("app").setPath("big").setData(ByteString.copyFrom(new byte[FileTransfers.UNARY_CAP + 1])).build()));
    assertThat(upload.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(upload.getStatus().getDescription()).contains("UploadFileStream");

    file = new byte[FileTransfers.UNARY_CAP + 1];
    var download = catchThrowableOfType(StatusRuntimeException.class,
        () -> api.blocking().downloadFile(DownloadFileRequest.newBuilder().setVmId("app").setPath("big").build()));
    assertThat(download.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(download.getStatus().getDescription()).contains("DownloadFileStream");
  }

  @Test
  void streamedFilesHaveNoCap() throws Exception {
    start();
    byte[] big = random(9 * 1024 * 1024); // more than one message may carry
    var answer = new CompletableFuture<UploadFileResponse>();
    StreamObserver<FileChunk> chunks = api.async().uploadFileStream(new StreamObserver<>() {
      @Override
      public void onNext(UploadFileResponse value) {
        answer.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        answer.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    chunks.onNext(FileChunk.newBuilder().setVmId("app").setPath("/tmp/big").setMode(0600).build());
    for (int offset = 0; offset < big.length; offset += 1024 * 1024) {
      chunks.onNext(FileChunk.newBuilder().setData(ByteString.copyFrom(big, offset, Math.min(1024 * 1024, big.length - offset))).build());
    }
    chunks.onCompleted();
    assertThat(answer.get(20, TimeUnit.SECONDS).getBytesWritten()).isEqualTo(big.length);
    assertThat(stored.toByteArray()).isEqualTo(big);
    assertThat(storedMode).isEqualTo(0600);

    file = big;
    var received = new ByteArrayOutputStream();
    api.blocking().downloadFileStream(DownloadFileRequest.newBuilder().setVmId("app").setPath("/tmp/big").build())
        .forEachRemaining(chunk -> received.writeBytes(chunk.getData().toByteArray()));
    assertThat(received.toByteArray()).isEqualTo(big);
  }

  @Test
  void aCancelledUploadFailsTheOperationsStream() throws Exception {
    var failed = new CompletableFuture<Throwable>();
    var received = new java.util.concurrent.CountDownLatch(1);
    api = new InProcessApi(FakeOperations.builder().vm("app", "running").upload((vm, path, mode, data) -> {
      try {
        data.read(new byte[10]);
        received.countDown();
        data.readAllBytes();
      } catch (java.io.IOException e) {
        failed.complete(e);
        throw e;
      }
      failed.complete(null);
      return 0;
    }).build());
    var requests = (io.grpc.stub.ClientCallStreamObserver<FileChunk>) api.async().uploadFileStream(new StreamObserver<>() {
      @Override
      public void onNext(UploadFileResponse value) {}

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    });
    requests.onNext(FileChunk.newBuilder().setVmId("app").setPath("part").setData(ByteString.copyFromUtf8("some bytes")).build());
    assertThat(received.await(10, TimeUnit.SECONDS)).isTrue();
    requests.cancel("the user gave up", null);
    assertThat(failed.get(10, TimeUnit.SECONDS)).as("the upload's stream throws, so nothing is kept").isInstanceOf(java.io.IOException.class);
  }

  @Test
  void logsAreTheGuestJournal() throws Exception {
    start();
    var out = new StringBuilder();
    api.blocking().streamLogs(StreamLogsRequest.newBuilder().setVmId("app").setNoFollow(true).setLines(5).build())
        .forEachRemaining(chunk -> out.append(chunk.getData().toStringUtf8()));
    assertThat(out.toString()).isEqualTo("ran: exec sudo -n journalctl --no-pager --lines=5");
    assertThat(GuestJournal.command(StreamLogsRequest.getDefaultInstance())).endsWith("--lines=200 --follow");
  }
}
