/** A token from an API key exchange: the JWT and when it stops working (unix seconds). */
export interface ExchangedToken {
  token: string;
  expiresAt: number;
}

/** Milliseconds since the epoch; a test passes a clock it moves by hand. */
export type Clock = () => number;

/** Refresh this long before expiry, so that a call made just before it never carries a dead token. */
export const REFRESH_MARGIN_MS = 60_000;

/**
 * The bearer token calls carry. With an API key it exchanges the key for a token the first time,
 * again from 60 s before that token expires, and again when the server calls a token expired
 * (`invalidate`); concurrent calls share one exchange. A fixed token (a JWT the user gave) is
 * used as it is and cannot be renewed.
 */
export class TokenSource {
  private current: ExchangedToken | undefined;
  private pending: Promise<ExchangedToken> | undefined;

  private constructor(
    private readonly exchange: (() => Promise<ExchangedToken>) | undefined,
    private readonly fixed: string | undefined,
    private readonly clock: Clock,
  ) {}

  static fromApiKey(exchange: () => Promise<ExchangedToken>, clock: Clock = Date.now): TokenSource {
    return new TokenSource(exchange, undefined, clock);
  }

  static fixed(token: string): TokenSource {
    return new TokenSource(undefined, token, Date.now);
  }

  /** Whether `invalidate` can lead to a different token. */
  get renewable(): boolean {
    return this.exchange !== undefined;
  }

  async token(): Promise<string> {
    if (this.exchange === undefined) {
      return this.fixed!;
    }
    const current = this.current;
    if (current !== undefined && this.clock() < current.expiresAt * 1000 - REFRESH_MARGIN_MS) {
      return current.token;
    }
    return (await this.refresh()).token;
  }

  /** Forgets `token` after the server refused it as expired; a newer one is kept. */
  invalidate(token: string): void {
    if (this.current?.token === token) {
      this.current = undefined;
    }
  }

  private refresh(): Promise<ExchangedToken> {
    if (this.pending === undefined) {
      this.pending = this.exchange!()
        .then((fresh) => {
          this.current = fresh;
          return fresh;
        })
        .finally(() => {
          this.pending = undefined;
        });
    }
    return this.pending;
  }
}
