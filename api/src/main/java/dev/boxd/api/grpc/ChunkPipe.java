package dev.boxd.api.grpc;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The client's streamed bytes (stdin of an exec, an uploaded file) as an {@link InputStream} for
 * the operation's thread. It asks gRPC for the next message only when the reader has taken the
 * last one ({@code request}): the client's sending is held back by flow control, never buffered
 * here beyond one message.
 */
final class ChunkPipe extends InputStream {
  private sealed interface Item {}

  private record Data(ByteString bytes) implements Item {}

  private record End() implements Item {}

  private record Failed(String why) implements Item {}

  private final LinkedBlockingQueue<Item> items = new LinkedBlockingQueue<>();
  private final Runnable requestNext;
  private ByteString current = ByteString.EMPTY;
  private int position;
  private boolean ended;
  private String failure;

  /** @param requestNext asks the call for one more message (thread-safe in gRPC) */
  ChunkPipe(Runnable requestNext) {
    this.requestNext = requestNext;
  }

  /** A message's bytes; the next message is requested once these are read. Empty data asks for the next at once. */
  void offer(ByteString bytes) {
    if (bytes.isEmpty()) {
      requestNext.run();
    } else {
      items.add(new Data(bytes));
    }
  }

  /** End of input: the reader sees -1 after what came before. */
  void end() {
    items.add(new End());
  }

  /** The client went away: the reader gets an IOException, so the operation is abandoned. */
  void fail(String why) {
    items.add(new Failed(why));
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] buffer, int offset, int length) throws IOException {
    if (length == 0) {
      return 0;
    }
    while (position == current.size()) {
      if (failure != null) {
        throw new IOException(failure);
      }
      if (ended) {
        return -1;
      }
      Item item;
      try {
        item = items.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("the call was cancelled");
      }
      switch (item) {
        case Data data -> {
          current = data.bytes();
          position = 0;
          requestNext.run(); // this one is ours now: let the next come while it is read
        }
        case End end -> ended = true;
        case Failed failed -> failure = failed.why();
      }
    }
    int n = Math.min(length, current.size() - position);
    current.substring(position, position + n).copyTo(buffer, offset);
    position += n;
    return n;
  }
}
