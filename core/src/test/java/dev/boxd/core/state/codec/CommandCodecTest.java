package dev.boxd.core.state.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.boxd.core.state.Command;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CommandCodecTest {
  private static final HexFormat HEX = HexFormat.of();

  @Test
  void everyCommandHasAGoldenEncoding() {
    assertThat(Samples.golden().keySet()).containsExactlyInAnyOrder(Command.class.getPermittedSubclasses());
  }

  /** Old logs replay: bytes written by an earlier boxd still decode to the same command. */
  @Test
  void goldenBytesDecodeToTheirCommand() {
    for (Map.Entry<Command, String> row : Samples.golden().values()) {
      assertThat(CommandCodec.decode(HEX.parseHex(row.getValue()))).isEqualTo(row.getKey());
    }
  }

  /** A changed encoding would make new logs unreadable to the boxd that is still running. */
  @Test
  void encodingIsStable() {
    for (Map.Entry<Command, String> row : Samples.golden().values()) {
      assertThat(HEX.formatHex(CommandCodec.encode(row.getKey()))).as("%s", row.getKey()).isEqualTo(row.getValue());
    }
  }

  @Test
  void unknownTagVersionTruncationAndTrailingBytesAreCorrupt() {
    assertThatThrownBy(() -> CommandCodec.decode(HEX.parseHex("01ffff")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("unknown command tag 65535");
    assertThatThrownBy(() -> CommandCodec.decode(HEX.parseHex("020001")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("command format version 2 is not known");
    byte[] reboot = HEX.parseHex("01000900000003766d31");
    assertThatThrownBy(() -> CommandCodec.decode(Arrays.copyOf(reboot, reboot.length - 1)))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("truncated");
    assertThatThrownBy(() -> CommandCodec.decode(Arrays.copyOf(reboot, reboot.length + 1)))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("1 unexpected trailing bytes");
    assertThatThrownBy(() -> CommandCodec.decode(new byte[0]))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("corrupt log entry at byte 0 of 0");
    assertThatThrownBy(() -> CommandCodec.decode(HEX.parseHex("01000900000002c328")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("not valid UTF-8");
  }

  /** Tag 32: a VM of a named image; a VM of the default one keeps tag 7's bytes. Never edit, only add. */
  @Test
  void aVmOfANamedImageIsTag32() {
    var named = new dev.boxd.core.state.Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, dev.boxd.core.net.Ipv4.parse("10.77.0.5"),
        dev.boxd.core.net.Ipv4.parse("203.0.113.7"), "w1", Samples.AT, "deb");
    String golden = "01002000000003766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100000000695735a50000000600000003646562";
    assertThat(java.util.HexFormat.of().formatHex(CommandCodec.encode(named))).isEqualTo(golden);
    assertThat(CommandCodec.decode(java.util.HexFormat.of().parseHex(golden))).isEqualTo(named);
    var plain = new dev.boxd.core.state.Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, dev.boxd.core.net.Ipv4.parse("10.77.0.5"),
        dev.boxd.core.net.Ipv4.parse("203.0.113.7"), "w1", Samples.AT);
    assertThat(CommandCodec.encode(plain)[2]).isEqualTo((byte) 7);
  }

  /** Tag 40: an isolated VM, of any image (tag 32's fields, then the flag byte). Never edit, only add. */
  @Test
  void anIsolatedVmIsTag40AndOlderTagsDecodeAsNotIsolated() {
    var isolated = new Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, dev.boxd.core.net.Ipv4.parse("10.77.0.5"),
        dev.boxd.core.net.Ipv4.parse("203.0.113.7"), "w1", Samples.AT, "deb", true);
    String golden = "01002800000003766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100000000695735a50000000600000003646562" + "01";
    assertThat(HEX.formatHex(CommandCodec.encode(isolated))).isEqualTo(golden);
    assertThat(CommandCodec.decode(HEX.parseHex(golden))).isEqualTo(isolated);
    var ofDefaultImage = new Command.CreateVm("vm1", "u1", "app", 2, 1024, 100, dev.boxd.core.net.Ipv4.parse("10.77.0.5"),
        dev.boxd.core.net.Ipv4.parse("203.0.113.7"), "w1", Samples.AT, "", true);
    String goldenDefault = "01002800000003766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100000000695735a500000006" + "00000000" + "01";
    assertThat(HEX.formatHex(CommandCodec.encode(ofDefaultImage))).isEqualTo(goldenDefault);
    assertThat(CommandCodec.decode(HEX.parseHex(goldenDefault))).isEqualTo(ofDefaultImage);

    var tag7 = (Command.CreateVm) CommandCodec.decode(HEX.parseHex(Samples.golden().get(Command.CreateVm.class).getValue()));
    assertThat(tag7.isolated()).isFalse();
    var tag32 = (Command.CreateVm) CommandCodec.decode(HEX.parseHex(
        "01002000000003766d310000000275310000000361707000000002000000000000040000000000000000640a4d0005cb00710700000002773100000000695735a50000000600000003646562"));
    assertThat(tag32.isolated()).isFalse();
    assertThatThrownBy(() -> CommandCodec.decode(HEX.parseHex(golden.substring(0, golden.length() - 2) + "02")))
        .isInstanceOf(CorruptDataException.class).hasMessageContaining("a flag byte is 2");
  }
}
