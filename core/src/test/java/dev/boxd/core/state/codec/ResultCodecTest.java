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
        new Result.Ok(42), new Result.Rejected(ErrorCode.RESOURCE_EXHAUSTED, "quota reached: 10 of 10 VMs")}) {
      assertThat(ResultCodec.decode(ResultCodec.encode(result))).isEqualTo(result);
    }
  }

  @Test
  void aCodeThisNodeDoesNotKnowArrivesAsInternal() {
    byte[] bytes = HexFormat.of().parseHex("02" + "00000004" + "4e455753" + "00000002" + "6869"); // "NEWS", "hi"

    assertThat(ResultCodec.decode(bytes)).isEqualTo(new Result.Rejected(ErrorCode.INTERNAL, "hi"));
  }
}
