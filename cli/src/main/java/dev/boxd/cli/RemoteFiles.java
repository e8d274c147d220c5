package dev.boxd.cli;

import com.google.protobuf.ByteString;
import dev.boxd.api.v1.BoxdApiGrpc;
import dev.boxd.api.v1.DownloadFileRequest;
import dev.boxd.api.v1.FileChunk;
import dev.boxd.api.v1.UploadFileResponse;
import dev.boxd.core.BoxdException;
import dev.boxd.core.ErrorCode;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Files of any size through the streaming RPCs: an upload sends the next chunk only when the server
 * is ready for it, a download writes each chunk before asking for the next (the blocking iterator's
 * flow control), so neither side holds more than a few chunks.
 */
final class RemoteFiles {
  private static final int CHUNK = 256 * 1024;

  private final BoxdApiGrpc.BoxdApiBlockingStub blocking;
  private final BoxdApiGrpc.BoxdApiStub async;
  private final String apiUrl;

  RemoteFiles(BoxdApiGrpc.BoxdApiBlockingStub blocking, BoxdApiGrpc.BoxdApiStub async, String apiUrl) {
    this.blocking = blocking;
    this.async = async;
    this.apiUrl = apiUrl;
  }

  long upload(String vm, String path, int mode, InputStream data) {
    var result = new CompletableFuture<Long>();
    var ready = new Object();
    var observer = new ClientResponseObserver<FileChunk, UploadFileResponse>() {
      volatile ClientCallStreamObserver<FileChunk> requests;

      @Override
      public void beforeStart(ClientCallStreamObserver<FileChunk> requestStream) {
        requests = requestStream;
        requestStream.setOnReadyHandler(() -> {
          synchronized (ready) {
            ready.notifyAll();
          }
        });
      }

      @Override
      public void onNext(UploadFileResponse value) {
        result.complete(value.getBytesWritten());
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
        synchronized (ready) {
          ready.notifyAll();
        }
      }

      @Override
      public void onCompleted() {
        result.complete(0L);
      }
    };
    async.uploadFileStream(observer);
    var requests = observer.requests;
    byte[] buffer = new byte[CHUNK];
    boolean first = true;
    try {
      while (true) {
        int n = data.readNBytes(buffer, 0, CHUNK);
        synchronized (ready) {
          while (!requests.isReady() && !result.isDone()) {
            ready.wait(100);
          }
        }
        if (result.isDone()) {
          break; // the server ended the call early: its answer says why
        }
        var chunk = FileChunk.newBuilder().setData(ByteString.copyFrom(buffer, 0, Math.max(n, 0)));
        if (first) {
          chunk.setVmId(vm).setPath(path).setMode(mode);
          first = false;
        }
        if (n > 0 || chunk.getVmId().length() > 0) {
          requests.onNext(chunk.build());
        }
        if (n < CHUNK) {
          requests.onCompleted();
          break;
        }
      }
      return result.get();
    } catch (IOException e) {
      requests.cancel("the local file could not be read", e);
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      requests.cancel("interrupted", null);
      Thread.currentThread().interrupt();
      throw new BoxdException(ErrorCode.UNAVAILABLE, "interrupted");
    } catch (ExecutionException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        throw ApiErrors.of(s, apiUrl);
      }
      throw new IllegalStateException("upload failed", e.getCause());
    }
  }

  long download(String vm, String path, OutputStream sink) {
    // A cancellable context: leaving early (a local write failed, interrupt) ends the server's stream too.
    try (var context = Context.current().withCancellation()) {
      return context.call(() -> {
        long bytes = 0;
        var chunks = blocking.downloadFileStream(DownloadFileRequest.newBuilder().setVmId(vm).setPath(path).build());
        while (chunks.hasNext()) {
          ByteString data = chunks.next().getData();
          data.writeTo(sink);
          bytes += data.size();
        }
        sink.flush();
        return bytes;
      });
    } catch (StatusRuntimeException e) {
      throw ApiErrors.of(e, apiUrl);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("download failed", e);
    }
  }
}
