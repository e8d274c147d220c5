package dev.boxd.vmm.agent;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class FrameTest {
  @Test
  void errorCarriesMessageAndErrnoAfterANul() {
    byte[] message = "no such file or directory: /x".getBytes(StandardCharsets.UTF_8);
    byte[] payload = new byte[message.length + 5];
    System.arraycopy(message, 0, payload, 0, message.length);
    payload[payload.length - 1] = (byte) AgentException.ENOENT;
    var frame = new Frame(Frame.ERROR, 7, payload);
    assertThat(frame.errorMessage()).isEqualTo("no such file or directory: /x");
    assertThat(frame.errorNumber()).isEqualTo(AgentException.ENOENT);
  }

  @Test
  void errorFromAnAgentWithoutTheFieldIsAllMessageAndErrnoZero() {
    var frame = new Frame(Frame.ERROR, 7, "missing path".getBytes(StandardCharsets.UTF_8));
    assertThat(frame.errorMessage()).isEqualTo("missing path");
    assertThat(frame.errorNumber()).isZero();
  }
}
