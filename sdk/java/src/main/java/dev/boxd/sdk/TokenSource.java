package dev.boxd.sdk;

/** The bearer token every call carries. Implementations are thread-safe. */
interface TokenSource {
  /** A token and the number of its generation, which changes whenever the token does. */
  record Current(String token, long generation) {
    @Override
    public String toString() {
      return "Current[generation=" + generation + "]";
    }
  }

  /** The token to send now; may block while a new one is fetched. */
  Current current();

  /** The server said the token of {@code generation} expired: the next {@link #current()} fetches a new one if it can. */
  void expired(long generation);

  /** Whether a new token can replace an expired one (so that a refused call is worth one retry). */
  boolean renewable();

  /** A token given as is (a JWT from a login): it cannot be renewed, so it is sent until refused. */
  record Fixed(String token) implements TokenSource {
    @Override
    public Current current() {
      return new Current(token, 0);
    }

    @Override
    public void expired(long generation) {}

    @Override
    public boolean renewable() {
      return false;
    }

    @Override
    public String toString() {
      return "Fixed[...]";
    }
  }
}
