import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProtoGrpcType } from '../generated/boxd.js';
import type { BoxdApiClient } from '../generated/boxd/api/v1/BoxdApi.js';
import { isExpiredToken, toBoxdError } from '../errors.js';
import type { ResolvedConfig } from './config.js';
import { TokenSource, type Clock } from './tokens.js';

/** SPEC §12: unary calls finish inside 30 s; calls that boot a VM get longer. */
export const UNARY_DEADLINE_MS = 30_000;
export const BOOT_DEADLINE_MS = 180_000;
export const SDK_VERSION = '0.1.0';

// The build copies boxd.proto next to dist/, so an installed package is self-contained.
const PROTO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');
// Must match the options scripts/build.mjs generates the types with.
const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_ROOT],
};

let definition: ProtoGrpcType | undefined;

function api(): ProtoGrpcType {
  if (definition === undefined) {
    const packageDefinition = protoLoader.loadSync('boxd/api/v1/boxd.proto', LOADER_OPTIONS);
    definition = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;
  }
  return definition;
}

type UnaryFunction<Req, Res> =
  (request: Req, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<Res>) => grpc.ClientUnaryCall;
// The generated client's last overload of a unary method is (request, callback): read both types from it.
type Signature<F> = F extends (request: infer Req, callback: grpc.requestCallback<infer Res>) => grpc.ClientUnaryCall ? [Req, Res] : never;
/** The client's unary methods, in their camelCase spelling (streaming calls match Signature structurally, so they are named). */
export type UnaryMethod = Exclude<{
  [K in keyof BoxdApiClient]: K extends Uncapitalize<K> ? ([Signature<BoxdApiClient[K]>] extends [never] ? never : K) : never;
}[keyof BoxdApiClient], 'exec' | 'uploadFileStream' | 'downloadFileStream' | 'streamLogs'>;
type RequestOf<M extends UnaryMethod> = Signature<BoxdApiClient[M]>[0];
type ResponseOf<M extends UnaryMethod> = Signature<BoxdApiClient[M]>[1];

/** A call's metadata and the token in it (undefined when the caller is known by address). */
export interface Auth {
  metadata: grpc.Metadata;
  token: string | undefined;
}

/**
 * The channel to one boxd API: adds the token to every call, maps failures to the SDK's errors,
 * and retries a unary call once when the server says the token expired.
 */
export class Transport {
  readonly client: BoxdApiClient;
  readonly url: string;
  private readonly tokens: TokenSource | undefined;

  constructor(config: ResolvedConfig, clock: Clock = Date.now) {
    this.url = config.url;
    const credentials = config.tls === false ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(config.tls.ca ?? null);
    this.client = new (api().boxd.api.v1.BoxdApi)(config.target, credentials, {
      'grpc.primary_user_agent': `boxd-typescript/${SDK_VERSION}`,
      // Downloads arrive in chunks well under this; the default 4 MiB leaves no margin.
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
    });
    const auth = config.auth;
    if (auth.kind === 'apiKey') {
      this.tokens = TokenSource.fromApiKey(() => this.exchange(auth.apiKey), clock);
    } else if (auth.kind === 'token') {
      this.tokens = TokenSource.fixed(auth.token);
    } else {
      this.tokens = undefined;
    }
  }

  async auth(): Promise<Auth> {
    const metadata = new grpc.Metadata();
    if (this.tokens === undefined) {
      return { metadata, token: undefined };
    }
    const token = await this.tokens.token();
    metadata.set('authorization', `Bearer ${token}`);
    return { metadata, token };
  }

  /** One unary call: `unary('getVm', {vmId})`. */
  async unary<M extends UnaryMethod>(method: M, request: RequestOf<M>, deadlineMs: number = UNARY_DEADLINE_MS): Promise<ResponseOf<M>> {
    const invoke = (this.client[method] as unknown as UnaryFunction<RequestOf<M>, ResponseOf<M>>).bind(this.client);
    for (let attempt = 1; ; attempt++) {
      const { metadata, token } = await this.auth();
      try {
        return await new Promise<ResponseOf<M>>((resolve, reject) => {
          invoke(request, metadata, { deadline: Date.now() + deadlineMs }, (error, response) => {
            if (error) {
              reject(error);
            } else {
              resolve(response!);
            }
          });
        });
      } catch (e) {
        const error = toBoxdError(e, this.url);
        if (attempt === 1 && token !== undefined && this.tokens?.renewable && isExpiredToken(error)) {
          this.tokens.invalidate(token);
          continue;
        }
        throw error;
      }
    }
  }

  close(): void {
    this.client.close();
  }

  /** ExchangeApiKey needs no token: it is how a client gets one. */
  private exchange(apiKey: string): Promise<{ token: string; expiresAt: number }> {
    return new Promise((resolve, reject) => {
      this.client.exchangeApiKey({ apiKey }, { deadline: Date.now() + UNARY_DEADLINE_MS }, (error, response) => {
        if (error) {
          reject(toBoxdError(error, this.url));
        } else {
          resolve({ token: response!.token, expiresAt: response!.expiresAt });
        }
      });
    });
  }
}
