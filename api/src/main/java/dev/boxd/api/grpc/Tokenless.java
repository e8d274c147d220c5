package dev.boxd.api.grpc;

import dev.boxd.api.auth.DeviceLogins;
import dev.boxd.api.auth.JwtTokens;
import dev.boxd.api.auth.TokenExchange;
import dev.boxd.core.BoxdException;

/**
 * The calls a client makes before it has a token ({@code ExchangeApiKey}, {@code StartDeviceLogin},
 * {@code PollDeviceLogin}), each given the caller's source address, by which they are rate limited.
 * {@link AuthInterceptor} lets exactly these through without a bearer.
 */
public interface Tokenless {

  JwtTokens.Issued exchange(String apiKey, String source);

  DeviceLogins.Started startDeviceLogin(DeviceLogins.Request request, String source);

  DeviceLogins.Polled pollDeviceLogin(String pollToken, String source);

  /** The server's: the token exchange it also serves over HTTPS, and its device logins. */
  static Tokenless of(TokenExchange exchange, DeviceLogins logins) {
    return new Tokenless() {
      @Override
      public JwtTokens.Issued exchange(String apiKey, String source) {
        return exchange.exchange(apiKey, source);
      }

      @Override
      public DeviceLogins.Started startDeviceLogin(DeviceLogins.Request request, String source) {
        return logins.start(request, source);
      }

      @Override
      public DeviceLogins.Polled pollDeviceLogin(String pollToken, String source) {
        return logins.poll(pollToken, source);
      }
    };
  }

  /** None of them: a server (or a test) that hands out no tokens over the API. */
  Tokenless NONE = new Tokenless() {
    @Override
    public JwtTokens.Issued exchange(String apiKey, String source) {
      throw BoxdException.precondition("this server exchanges no API keys over gRPC: use POST /api/v1/auth/token");
    }

    @Override
    public DeviceLogins.Started startDeviceLogin(DeviceLogins.Request request, String source) {
      throw BoxdException.precondition("this server offers no device login: make an API key over SSH (api-key create)");
    }

    @Override
    public DeviceLogins.Polled pollDeviceLogin(String pollToken, String source) {
      throw BoxdException.precondition("this server offers no device login: make an API key over SSH (api-key create)");
    }
  };
}
