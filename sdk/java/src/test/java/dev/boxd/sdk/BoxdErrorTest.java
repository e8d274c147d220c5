package dev.boxd.sdk;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.ConnectException;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

class BoxdErrorTest {
  static BoxdError map(Status status) {
    return BoxdError.from(status.asRuntimeException(), "https://boxd.example:9443");
  }

  @Test
  void eachCodeHasItsClassAndKeepsTheServersMessage() {
    assertThat(map(Status.NOT_FOUND.withDescription("VM 'x' not found"))).isInstanceOf(NotFoundError.class)
        .hasMessage("VM 'x' not found").extracting(BoxdError::code).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(map(Status.ALREADY_EXISTS.withDescription("taken"))).isInstanceOf(ConflictError.class);
    assertThat(map(Status.FAILED_PRECONDITION.withDescription("running"))).isInstanceOf(ConflictError.class)
        .extracting(BoxdError::code).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(map(Status.UNAUTHENTICATED.withDescription("unknown API key"))).isInstanceOf(AuthenticationError.class);
    assertThat(map(Status.PERMISSION_DENIED.withDescription("no"))).isInstanceOf(PermissionDeniedError.class);
    assertThat(map(Status.RESOURCE_EXHAUSTED.withDescription("quota"))).isInstanceOf(RateLimitError.class);
    assertThat(map(Status.INVALID_ARGUMENT.withDescription("bad name"))).isInstanceOf(InvalidArgumentError.class)
        .hasMessage("bad name");
    assertThat(map(Status.INTERNAL.withDescription("internal error"))).isExactlyInstanceOf(BoxdError.class)
        .extracting(BoxdError::code).isEqualTo(Status.Code.INTERNAL);
    assertThat(map(Status.NOT_FOUND)).hasMessage("not found");
    assertThat(BoxdError.from(Status.NOT_FOUND.asRuntimeException()).getCause()).isInstanceOf(io.grpc.StatusRuntimeException.class);
  }

  @Test
  void aRefusedConnectionNamesTheUrlAndWhatToCheck() {
    BoxdError e = map(Status.UNAVAILABLE.withDescription("io exception").withCause(new ConnectException("Connection refused")));
    assertThat(e).isInstanceOf(APIConnectionError.class).hasMessageContaining("https://boxd.example:9443")
        .hasMessageContaining("Connection refused").hasMessageContaining("BOXD_API_URL");
    assertThat(e.code()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aTlsFailureSaysToTrustTheClustersCa() {
    BoxdError e = map(Status.UNAVAILABLE.withCause(new RuntimeException(new SSLHandshakeException("PKIX path building failed"))));
    assertThat(e).isInstanceOf(APIConnectionError.class).hasMessageContaining("TLS").hasMessageContaining("BOXD_CA_CERT")
        .hasMessageContaining("https://boxd.example:9443");
  }

  @Test
  void aDeadlineAndABusyServerAreConnectionErrorsToo() {
    assertThat(map(Status.DEADLINE_EXCEEDED.withDescription("deadline exceeded after 29.9s"))).isInstanceOf(APIConnectionError.class)
        .hasMessageContaining("did not answer in time");
    assertThat(map(Status.UNAVAILABLE.withDescription("the server is busy: try again"))).isInstanceOf(APIConnectionError.class)
        .hasMessageContaining("the server is busy: try again");
  }

  @Test
  void onlyAnExpiredTokenIsWorthARetry() {
    assertThat(BearerAuth.saysTokenExpired(Status.UNAUTHENTICATED.withDescription("token expired: exchange your API key again"))).isTrue();
    assertThat(BearerAuth.saysTokenExpired(Status.UNAUTHENTICATED.withDescription("this API key was revoked"))).isFalse();
    assertThat(BearerAuth.saysTokenExpired(Status.UNAUTHENTICATED.withDescription("this API key expired at 2026-01-01"))).isFalse();
    assertThat(BearerAuth.saysTokenExpired(Status.NOT_FOUND.withDescription("token expired"))).isFalse();
  }
}
