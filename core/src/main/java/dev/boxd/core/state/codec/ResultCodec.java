package dev.boxd.core.state.codec;

import dev.boxd.core.ErrorCode;
import dev.boxd.core.state.Result;

/**
 * The bytes of a {@link Result} sent from the leader back to the proposer: tag (u8) 1 = ok with
 * the index (i64), 2 = rejected with the error code's name and the message, then the reason's
 * name only when there is one (a rejection without a reason has the bytes it had before reasons
 * existed). Codes and reasons travel by name so one a newer leader knows and this node does not
 * still arrives, as {@code INTERNAL} and {@link Result.Reason#NONE}.
 */
public final class ResultCodec {
  private ResultCodec() {}

  public static byte[] encode(Result result) {
    WireWriter out = new WireWriter();
    switch (result) {
      case Result.Ok ok -> out.u8(1).i64(ok.index());
      case Result.Rejected rejected -> {
        out.u8(2).string(rejected.code().name()).string(rejected.message());
        if (rejected.reason() != Result.Reason.NONE) {
          out.string(rejected.reason().name());
        }
      }
    }
    return out.toBytes();
  }

  public static Result decode(byte[] bytes) {
    WireReader in = new WireReader(bytes, "result");
    int tag = in.u8();
    Result result = switch (tag) {
      case 1 -> new Result.Ok(in.i64());
      case 2 -> new Result.Rejected(errorCode(in.string()), in.string(), in.atEnd() ? Result.Reason.NONE : reason(in.string()));
      default -> throw in.corrupt("unknown result tag " + tag);
    };
    in.end();
    return result;
  }

  private static ErrorCode errorCode(String name) {
    for (ErrorCode code : ErrorCode.values()) {
      if (code.name().equals(name)) {
        return code;
      }
    }
    return ErrorCode.INTERNAL;
  }

  private static Result.Reason reason(String name) {
    for (Result.Reason reason : Result.Reason.values()) {
      if (reason.name().equals(name)) {
        return reason;
      }
    }
    return Result.Reason.NONE;
  }
}
