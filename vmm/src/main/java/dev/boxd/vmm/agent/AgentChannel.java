package dev.boxd.vmm.agent;

import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.Semaphore;

/**
 * One multiplexed stream on an agent connection. Outgoing DATA is limited by credit: at most
 * {@link AgentClient#WINDOW} bytes unacknowledged, so one slow guest consumer stalls only itself.
 */
abstract class AgentChannel {
  static final byte SIGKILL = 9;

  private final AgentClient client;
  private final int id;
  private final Semaphore credit = new Semaphore(AgentClient.WINDOW);
  private volatile AgentException failure;

  AgentChannel(AgentClient client, int id) {
    this.client = client;
    this.id = id;
  }

  int id() {
    return id;
  }

  AgentClient client() {
    return client;
  }

  /** Called on the reader thread for every frame of this channel. */
  final void onFrame(Frame frame) {
    switch (frame.type()) {
      case Frame.ACK -> credit.release(frame.i32());
      case Frame.ERROR -> {
        fail(new AgentException(frame.errorMessage(), frame.errorNumber()));
        client.finished(this);
      }
      default -> handle(frame);
    }
  }

  abstract void handle(Frame frame);

  /** Fails the channel: waiters see the exception, senders stop. */
  void fail(AgentException e) {
    failure = e;
    credit.release(AgentClient.WINDOW);
    failed(e);
  }

  abstract void failed(AgentException e);

  AgentException failure() {
    return failure;
  }

  /**
   * Asks the agent to end this channel early, whatever it is doing: an exec's process group is
   * killed, an upload's temporary file removed, a download stopped. The agent answers ERROR,
   * which ends the channel here. Does not wait, so the reader thread may call it.
   */
  void abort() {
    client.post(new Frame(Frame.SIGNAL, id, new byte[] {SIGKILL}));
  }

  void sendControl(int type, byte[] payload) throws IOException {
    client.send(new Frame(type, id, payload));
  }

  /** A stream of DATA frames; closing it sends the empty DATA frame that means end of input. */
  OutputStream dataOut() {
    return new OutputStream() {
      private boolean closed;

      @Override
      public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
      }

      @Override
      public void write(byte[] b, int off, int len) throws IOException {
        if (closed) {
          throw new IOException("stream closed");
        }
        while (len > 0) {
          int n = Math.min(len, Frame.MAX_PAYLOAD);
          try {
            credit.acquire(n);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
          }
          if (failure != null) {
            throw failure;
          }
          byte[] chunk = java.util.Arrays.copyOfRange(b, off, off + n);
          client.send(new Frame(Frame.DATA, id, chunk));
          off += n;
          len -= n;
        }
      }

      @Override
      public void close() throws IOException {
        if (!closed && failure == null) {
          closed = true;
          client.send(new Frame(Frame.DATA, id, new byte[0]));
        }
      }
    };
  }
}
