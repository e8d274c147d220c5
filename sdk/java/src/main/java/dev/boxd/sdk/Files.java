package dev.boxd.sdk;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.DownloadFileRequest;
import dev.boxd.api.v1.FileChunk;
import dev.boxd.api.v1.ListDirRequest;
import dev.boxd.api.v1.UploadFileResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Files in a VM, of any size: they stream in chunks. A path is relative to {@code /home/boxd}
 * unless it is absolute; uploads are owned by {@code boxd}, mode 0644.
 */
public final class Files {
  static final int CHUNK_BYTES = 1024 * 1024;

  private final Rpc rpc;

  Files(Rpc rpc) {
    this.rpc = rpc;
  }

  /** Writes {@code data} to {@code path} in the VM; returns the bytes written. */
  public long upload(String id, String path, byte[] data) {
    return rpc.retryingExpiredToken(() -> upload(id, path, new ByteArrayInputStream(data)));
  }

  /** Copies a local file to {@code path} in the VM; returns the bytes written. */
  public long upload(String id, String path, Path local) {
    return rpc.retryingExpiredToken(() -> {
      try (InputStream in = java.nio.file.Files.newInputStream(local)) {
        return upload(id, path, in);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read " + local + " to upload it: " + e.getMessage(), e);
      }
    });
  }

  /** Streams {@code in} (to its end; not closed here) to {@code path} in the VM; returns the bytes written. */
  public long upload(String id, String path, InputStream in) {
    var upload = new Upload();
    var requests = rpc.async().uploadFileStream(upload);
    try {
      byte[] buffer = new byte[CHUNK_BYTES];
      boolean first = true;
      while (true) {
        int n = in.readNBytes(buffer, 0, buffer.length);
        if (n == 0 && !first) {
          break;
        }
        var chunk = FileChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, n));
        if (first) {
          chunk.setVmId(id).setPath(path);
          first = false;
        }
        if (!upload.awaitReady()) {
          break; // the server answered already (an error): it is read below
        }
        requests.onNext(chunk.build());
        if (n < buffer.length) {
          break;
        }
      }
    } catch (IOException e) {
      upload.requests.cancel("the upload's input failed", e);
      throw new UncheckedIOException("cannot read the data to upload to " + path + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      upload.requests.cancel("the upload failed on the client", e);
      throw e;
    }
    requests.onCompleted();
    return upload.result().getBytesWritten();
  }

  /** The file's bytes; for large files prefer {@link #download(String, String, OutputStream)}. */
  public byte[] download(String id, String path) {
    return rpc.retryingExpiredToken(() -> {
      var out = new ByteArrayOutputStream();
      download(id, path, out);
      return out.toByteArray();
    });
  }

  /** Writes the file's bytes to {@code out} (not closed here) as they come; returns how many. */
  public long download(String id, String path, OutputStream out) {
    var request = DownloadFileRequest.newBuilder().setVmId(id).setPath(path).build();
    // A cancellable context: if writing to out fails, the call must end rather than wait for a reader.
    try (Context.CancellableContext context = Context.current().withCancellation()) {
      return context.call(() -> {
        long total = 0;
        try {
          Iterator<FileChunk> chunks = rpc.blocking().downloadFileStream(request);
          while (chunks.hasNext()) {
            ByteString data = chunks.next().getData();
            data.writeTo(out);
            total += data.size();
          }
          return total;
        } catch (StatusRuntimeException e) {
          throw rpc.error(e);
        } catch (IOException e) {
          context.cancel(e);
          throw new UncheckedIOException("cannot write the download of " + path + ": " + e.getMessage(), e);
        }
      });
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("unexpected failure of a download", e);
    }
  }

  /** The entries of a directory in the VM. */
  public List<DirEntry> listDir(String id, String path) {
    return rpc.unary(api -> api.listDir(ListDirRequest.newBuilder().setVmId(id).setPath(path).build()))
        .getEntriesList().stream().map(DirEntry::of).toList();
  }

  // The upload's answer, and flow control: chunks go out only when the transport takes them.
  private final class Upload implements ClientResponseObserver<FileChunk, UploadFileResponse> {
    private final CompletableFuture<UploadFileResponse> answer = new CompletableFuture<>();
    private final Object lock = new Object();
    private ClientCallStreamObserver<FileChunk> requests;

    @Override
    public void beforeStart(ClientCallStreamObserver<FileChunk> requestStream) {
      requests = requestStream;
      requestStream.setOnReadyHandler(this::wake);
    }

    private void wake() {
      synchronized (lock) {
        lock.notifyAll();
      }
    }

    /** False when the call has ended already. */
    boolean awaitReady() {
      synchronized (lock) {
        while (!requests.isReady() && !answer.isDone()) {
          try {
            lock.wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BoxdError(Status.Code.CANCELLED, "interrupted while uploading", e);
          }
        }
        return !answer.isDone();
      }
    }

    UploadFileResponse result() {
      try {
        return answer.get();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        requests.cancel("interrupted", e);
        throw new BoxdError(Status.Code.CANCELLED, "interrupted while waiting for an upload to finish", e);
      } catch (ExecutionException e) {
        throw rpc.error(e.getCause());
      }
    }

    @Override
    public void onNext(UploadFileResponse value) {
      answer.complete(value);
    }

    @Override
    public void onError(Throwable t) {
      answer.completeExceptionally(t);
      wake();
    }

    @Override
    public void onCompleted() {
      answer.complete(UploadFileResponse.getDefaultInstance());
      wake();
    }
  }
}
