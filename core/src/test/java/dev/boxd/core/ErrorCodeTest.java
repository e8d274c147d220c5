package dev.boxd.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ErrorCodeTest {

  /** The whole table as published (docs/architecture.md): a change here is a change of API. */
  @Test
  void theTableIsWhatClientsWereTold() {
    List<String> rows = Arrays.stream(ErrorCode.values())
        .map(c -> c.jsonCode() + " exit=" + c.exitCode() + " grpc=" + c.grpcName() + "/" + c.grpcStatus() + " http=" + c.httpStatus())
        .toList();

    assertThat(rows).containsExactly(
        "INVALID_ARGUMENT exit=2 grpc=INVALID_ARGUMENT/3 http=400",
        "NOT_FOUND exit=3 grpc=NOT_FOUND/5 http=404",
        "ALREADY_EXISTS exit=4 grpc=ALREADY_EXISTS/6 http=409",
        "FAILED_PRECONDITION exit=5 grpc=FAILED_PRECONDITION/9 http=400",
        "RESOURCE_EXHAUSTED exit=6 grpc=RESOURCE_EXHAUSTED/8 http=429",
        "PERMISSION_DENIED exit=7 grpc=PERMISSION_DENIED/7 http=403",
        "UNAUTHENTICATED exit=8 grpc=UNAUTHENTICATED/16 http=401",
        "UNAVAILABLE exit=9 grpc=UNAVAILABLE/14 http=503",
        "DEADLINE_EXCEEDED exit=10 grpc=DEADLINE_EXCEEDED/4 http=504",
        "INTERNAL exit=1 grpc=INTERNAL/13 http=500");
  }

  @Test
  void grpcNumbersAreTheCanonicalOnesForTheirNames() {
    // google.rpc.Code, as every gRPC implementation numbers it.
    Map<String, Integer> canonical = Map.ofEntries(
        Map.entry("CANCELLED", 1), Map.entry("UNKNOWN", 2), Map.entry("INVALID_ARGUMENT", 3),
        Map.entry("DEADLINE_EXCEEDED", 4), Map.entry("NOT_FOUND", 5), Map.entry("ALREADY_EXISTS", 6),
        Map.entry("PERMISSION_DENIED", 7), Map.entry("RESOURCE_EXHAUSTED", 8), Map.entry("FAILED_PRECONDITION", 9),
        Map.entry("ABORTED", 10), Map.entry("OUT_OF_RANGE", 11), Map.entry("UNIMPLEMENTED", 12),
        Map.entry("INTERNAL", 13), Map.entry("UNAVAILABLE", 14), Map.entry("DATA_LOSS", 15),
        Map.entry("UNAUTHENTICATED", 16));

    for (ErrorCode code : ErrorCode.values()) {
      assertThat(canonical.get(code.grpcName())).as(code.name()).isEqualTo(code.grpcStatus());
    }
  }

  @Test
  void everyCodeIsAFailureOnEverySurfaceAndExitCodesAreDistinct() {
    for (ErrorCode code : ErrorCode.values()) {
      assertThat(code.exitCode()).as(code.name()).isBetween(1, 123);
      assertThat(code.httpStatus()).as(code.name()).isBetween(400, 599);
      assertThat(code.grpcStatus()).as(code.name()).isPositive();
    }
    assertThat(Arrays.stream(ErrorCode.values()).map(ErrorCode::exitCode).distinct().count()).isEqualTo(ErrorCode.values().length);
  }
}
