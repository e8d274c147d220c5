package dev.boxd.api.grpc;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.DownloadFileRequest;
import dev.boxd.api.v1.DownloadFileResponse;
import dev.boxd.api.v1.FileChunk;
import dev.boxd.api.v1.UploadFileRequest;
import dev.boxd.api.v1.UploadFileResponse;
import dev.boxd.core.BoxdException;
import dev.boxd.verbs.Operations;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.IOException;

/**
 * Files in and out of a VM: the unary RPCs of SPEC §8 for small files (up to {@link #UNARY_CAP},
 * within gRPC's message limit and the 30 s a unary call has), and streams of {@link FileChunk}s
 * for files of any size, flow-controlled both ways.
 */
final class FileTransfers {
  static final int UNARY_CAP = 4 * 1024 * 1024;
  static final int DEFAULT_MODE = 0644;

  private final Offload offload;

  FileTransfers(Offload offload) {
    this.offload = offload;
  }

  void upload(Operations ops, UploadFileRequest request, StreamObserver<UploadFileResponse> observer) {
    offload.unary("upload", observer, () -> {
      String vm = Requests.vm("vm_id", request.getVmId());
      String path = Requests.text("path", request.getPath());
      if (request.getData().size() > UNARY_CAP) {
        throw BoxdException.invalid("UploadFile takes at most " + UNARY_CAP + " bytes and this has " + request.getData().size()
            + ": send larger files with UploadFileStream");
      }
      long written = ops.upload(vm, path, mode(request.getMode()), request.getData().newInput());
      return UploadFileResponse.newBuilder().setBytesWritten(written).build();
    });
  }

  void download(Operations ops, DownloadFileRequest request, StreamObserver<DownloadFileResponse> observer) {
    offload.unary("download", observer, () -> {
      String vm = Requests.vm("vm_id", request.getVmId());
      String path = Requests.text("path", request.getPath());
      var buffer = new CappedBuffer();
      try {
        ops.download(vm, path, buffer);
      } catch (RuntimeException e) {
        if (buffer.overflowed) {
          throw BoxdException.precondition(dev.boxd.core.Names.quote(path) + " is larger than the " + UNARY_CAP
              + " bytes DownloadFile returns: fetch it with DownloadFileStream");
        }
        throw e;
      }
      return DownloadFileResponse.newBuilder().setData(ByteString.copyFrom(buffer.toByteArray())).build();
    });
  }

  /** Collects at most {@link #UNARY_CAP} bytes; past that, fails the download, which then stops. */
  private static final class CappedBuffer extends ByteArrayOutputStream {
    boolean overflowed;

    @Override
    public synchronized void write(byte[] bytes, int offset, int length) {
      if (count + length > UNARY_CAP) {
        overflowed = true;
        throw new java.io.UncheckedIOException(new IOException("larger than " + UNARY_CAP + " bytes"));
      }
      super.write(bytes, offset, length);
    }

    @Override
    public synchronized void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }
  }

  /** An upload of any size: the first chunk names vm_id and path (and mode); every chunk may carry data. */
  StreamObserver<FileChunk> uploadStream(Operations ops, StreamObserver<UploadFileResponse> observer) {
    var call = (ServerCallStreamObserver<UploadFileResponse>) observer;
    var sink = new FlowControlledSink<>(call);
    var data = new ChunkPipe(() -> call.request(1));
    call.disableAutoRequest();
    var upload = new StreamObserver<FileChunk>() {
      private Offload.Running running;

      @Override
      public void onNext(FileChunk chunk) {
        if (running == null) {
          String vm;
          String path;
          int mode;
          try {
            vm = Requests.vm("vm_id", chunk.getVmId());
            path = Requests.text("path", chunk.getPath());
            mode = mode(chunk.getMode());
          } catch (BoxdException e) {
            sink.fail(e);
            return;
          }
          synchronized (this) {
            running = offload.prepare("upload", () -> {
              try {
                long written = ops.upload(vm, path, mode, data);
                sink.complete(UploadFileResponse.newBuilder().setBytesWritten(written).build());
              } catch (Throwable e) {
                sink.fail(e);
              }
            });
          }
          if (!running.start()) {
            sink.fail(offload.busy());
            return;
          }
        }
        data.offer(chunk.getData());
      }

      @Override
      public void onError(Throwable t) {
        data.fail("the client ended the upload"); // nothing stays at the path
      }

      @Override
      public void onCompleted() {
        if (running == null) {
          sink.fail(BoxdException.invalid("the upload ended before its first chunk: send vm_id and path first"));
          return;
        }
        data.end();
      }

      synchronized void cancelled() {
        data.fail("the upload was cancelled");
        if (running != null) {
          running.interrupt();
        }
      }
    };
    call.setOnCancelHandler(upload::cancelled);
    call.request(1);
    return upload;
  }

  /** A download of any size, as chunks of at most {@link FlowControlledSink#CHUNK} bytes. */
  void downloadStream(Operations ops, DownloadFileRequest request, StreamObserver<FileChunk> observer) {
    var call = (ServerCallStreamObserver<FileChunk>) observer;
    var sink = new FlowControlledSink<>(call);
    Offload.Running running = offload.prepare("download", () -> {
      try {
        String vm = Requests.vm("vm_id", request.getVmId());
        String path = Requests.text("path", request.getPath());
        ops.download(vm, path, sink.stream(bytes -> FileChunk.newBuilder().setData(bytes).build()));
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

  static int mode(int requested) {
    if (requested == 0) {
      return DEFAULT_MODE;
    }
    if ((requested & ~07777) != 0) {
      throw BoxdException.invalid("invalid mode " + Integer.toOctalString(requested) + ": expected permission bits, at most 07777 (octal)");
    }
    return requested;
  }
}
