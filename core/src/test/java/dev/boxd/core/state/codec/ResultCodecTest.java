package dev.boxd.core.state.codec;

import static org.assertj.core.api.Assertions.assertThat;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Result;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class ResultCodecTest {
  @Test
  void roundTrips() {
    for (Result result : new Result[] {
        new Result.Ok(42), new Result.Rejected(ErrorCode.RESOURCE_EXHAUSTED, "quota reached: 10 of 10 VMs"),
        new Result.Rejected(ErrorCode.ALREADY_EXISTS, "address 10.77.0.5 is already in use", Result.Reason.ADDRESS_TAKEN)}) {
      assertThat(ResultCodec.decode(ResultCodec.encode(result))).isEqualTo(result);
    }
  }

  @Test
  void aCodeThisNodeDoesNotKnowArrivesAsInternal() {
    byte[] bytes = HexFormat.of().parseHex("02" + "00000004" + "4e455753" + "00000002" + "6869"); // "NEWS", "hi"

    assertThat(ResultCodec.decode(bytes)).isEqualTo(new Result.Rejected(ErrorCode.INTERNAL, "hi"));
  }

  @Test
  void aRejectionWithoutAReasonHasTheBytesItHadBeforeReasons() {
    String golden = "02" + "00000008" + "494e5445524e414c" + "00000002" + "6869"; // "INTERNAL", "hi"

    assertThat(HexFormat.of().formatHex(ResultCodec.encode(new Result.Rejected(ErrorCode.INTERNAL, "hi")))).isEqualTo(golden);
    assertThat(ResultCodec.decode(HexFormat.of().parseHex(golden)))
        .isEqualTo(new Result.Rejected(ErrorCode.INTERNAL, "hi", Result.Reason.NONE));
  }

  @Test
  void aReasonFollowsTheMessage() {
    String golden = "02" + "0000000e" + "414c52454144595f455849535453" + "00000002" + "6869"
        + "0000000d" + "414444524553535f54414b454e"; // "ALREADY_EXISTS", "hi", "ADDRESS_TAKEN"
    Result rejected = new Result.Rejected(ErrorCode.ALREADY_EXISTS, "hi", Result.Reason.ADDRESS_TAKEN);

    assertThat(HexFormat.of().formatHex(ResultCodec.encode(rejected))).isEqualTo(golden);
    assertThat(ResultCodec.decode(HexFormat.of().parseHex(golden))).isEqualTo(rejected);
  }

  @Test
  void aReasonThisNodeDoesNotKnowArrivesAsNone() {
    byte[] bytes = HexFormat.of().parseHex("02" + "0000000e" + "414c52454144595f455849535453" + "00000002" + "6869"
        + "00000005" + "4c41544552"); // "ALREADY_EXISTS", "hi", "LATER"

    assertThat(ResultCodec.decode(bytes)).isEqualTo(new Result.Rejected(ErrorCode.ALREADY_EXISTS, "hi", Result.Reason.NONE));
  }
}
